import Core
import FoundationEssentials
import Glibc
import SystemPackage

/// A file of hvctl's own shell code in the runtime directory, which hook units source as
/// root (or as --user): the DevStack functions, the shell-state prelude, the steps that build
/// DevStack's environment.
public struct RuntimeScript: Sendable {
    public var path: String
    public var text: String

    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }

    /// Writes the file atomically (temp file + rename) with mode 0644, unless it is already
    /// there with exactly this content. The directory, and every one on its path, is held to
    /// the trust rule first, and an existing file must be a regular file root owns.
    public func install() throws {
        let dir = try RuntimePaths.prepare(PathName.parent(of: path), purpose: "write the shell code hooks source")
        let target = dir + "/" + PathName.last(of: path)
        let data = Data(text.utf8)
        var st = stat()
        if lstat(target, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid(), st.st_mode & 0o022 == 0,
            let existing = FileManager.default.contents(atPath: target), existing == data
        {
            return
        }
        let temp = dir + "/.\(PathName.last(of: target)).\(getpid()).tmp"
        unlink(temp)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw HookError.unwritable(path: temp, reason: Errno.current.description) }
        let ok = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) == $0.count } && fchmod(fd, 0o644) == 0
        close(fd)
        guard ok, rename(temp, target) == 0 else {
            let reason = Errno.current.description
            unlink(temp)
            throw HookError.unwritable(path: target, reason: reason)
        }
    }
}

import FoundationEssentials
import Glibc
import SystemPackage

/// Whole-file writes that never leave a half-written file: temp file in the same directory,
/// fsync, rename over the target. Whatever signal arrives when, the path names the old
/// version or the new one.
///
/// A file that exists keeps what makes it the user's: its owner and group (a root:nova 0640
/// nova.conf stays readable by nova), its mode, and its symlink (the link's target is
/// rewritten; the link stays a link). A path that is not a regular file is refused by name.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, mode: mode_t) throws {
        let target = try resolveLinks(path)
        let url = URL(fileURLWithPath: target)
        let dir = url.deletingLastPathComponent().path
        try makeDirectory(dir)
        var existing = stat()
        let exists = stat(target, &existing) == 0
        if exists && existing.st_mode & S_IFMT != S_IFREG {
            throw AtomicFileError(path: path, reason: "it is \(kind(existing.st_mode)), not a regular file")
        }
        let keepMode = exists ? existing.st_mode & 0o7777 : mode
        let temp = dir + "/.\(url.lastPathComponent).\(getpid()).tmp"
        unlink(temp)  // a leftover of this very pid's earlier, interrupted write
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw AtomicFileError(path: path, reason: Errno.current.description) }
        let written = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
        // The reason is taken right at the call that failed, before anything else sets errno.
        var failure: String?
        if !written { failure = Errno.current.description }
        if failure == nil && exists && (existing.st_uid != geteuid() || existing.st_gid != getegid())
            && fchown(fd, existing.st_uid, existing.st_gid) != 0
        {
            failure = "cannot keep its owner \(existing.st_uid):\(existing.st_gid): \(Errno.current.description)"
        }
        // After the chown, which clears set-id bits.
        if failure == nil && (fchmod(fd, keepMode) != 0 || fsync(fd) != 0) { failure = Errno.current.description }
        close(fd)
        if failure == nil && rename(temp, target) != 0 { failure = Errno.current.description }
        if let failure {
            unlink(temp)
            throw AtomicFileError(path: path, reason: failure)
        }
    }

    /// `path` with every symlink in it resolved; for a path that does not exist yet, its
    /// directory resolved and its name kept. A link to a missing file resolves to that file.
    static func resolveLinks(_ path: String) throws -> String {
        var current = path
        for _ in 0..<40 {
            var st = stat()
            guard lstat(current, &st) == 0, st.st_mode & S_IFMT == S_IFLNK else { break }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current, &buffer, buffer.count - 1)
            guard n >= 0 else { throw AtomicFileError(path: path, reason: Errno.current.description) }
            let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = link.hasPrefix("/") ? link : PathName.parent(of: current) + "/" + link
        }
        return current
    }

    public static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR, S_IFBLK: return "a device"
        case S_IFSOCK: return "a socket"
        default: return "a special file"
        }
    }
}

extension AtomicFile {
    /// `mkdir -p`, with the system's reason when it fails ("Not a directory", "Permission
    /// denied"), which FileManager's errors do not carry.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws {
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw AtomicFileError(path: path, reason: "it exists and is not a directory") }
            return
        }
        let parent = PathName.parent(of: path)
        if !parent.isEmpty && parent != path { try makeDirectory(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw AtomicFileError(path: path, reason: Errno.current.description)
        }
    }
}

public struct AtomicFileError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}

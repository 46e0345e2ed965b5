import Foundation
import Glibc

/// An extras.d directory: finds its hooks, orders them, and refuses before anything runs when
/// one is malformed, reserved, not a regular file, or unsafe.
public struct ExtrasDirectory: Sendable {
    public static let defaultPath = "/etc/hvctl/extras.d"

    public var path: String
    /// Who besides root may own hooks and their directories: the invoking user, as sudo allows.
    public var trustedUID: uid_t

    /// The user who invoked hvctl: SUDO_UID under sudo, else the real uid.
    public static var invokingUID: uid_t {
        if let raw = ProcessInfo.processInfo.environment["SUDO_UID"], let uid = uid_t(raw) { return uid }
        return getuid()
    }

    /// A relative `path` is taken from the current directory: hooks run elsewhere (in TOP_DIR).
    public init(path: String, trustedUID: uid_t = ExtrasDirectory.invokingUID) {
        self.path = Self.absolute(path)
        self.trustedUID = trustedUID
    }

    public struct Contents: Sendable, Equatable, Codable {
        /// In run order.
        public var hooks: [Hook]
        public var ignored: [IgnoredEntry]
    }

    public static func absolute(_ path: String) -> String {
        let url = path.hasPrefix("/")
            ? URL(fileURLWithPath: path)
            : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)
        return url.standardizedFileURL.path
    }

    /// DevStack's TOP_DIR: the extras.d directory's parent.
    public var defaultTopDir: String {
        URL(fileURLWithPath: path).deletingLastPathComponent().path
    }

    public func scan() throws -> Contents {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { throw HookError.directoryMissing(path) }
            throw HookError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw HookError.notADirectory(path) }
        try checkSafe(path, info)

        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw HookError.unreadable(path: path, reason: "\(error.localizedDescription)")
        }
        var hooks: [Hook] = []
        var ignored: [IgnoredEntry] = []
        // Bytewise, so the first problem reported is the same on every run.
        for file in names.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            if file.hasPrefix(".") {
                ignored.append(IgnoredEntry(file: file, reason: "hidden (DevStack's *.sh glob never matched it)"))
                continue
            }
            guard file.hasSuffix(".sh") else {
                ignored.append(IgnoredEntry(file: file, reason: "does not end in .sh"))
                continue
            }
            let full = path + "/" + file
            switch HookName.classify(file) {
            case .malformed(let reason):
                throw HookError.malformedName(path: full, reason: reason)
            case .reserved(let order):
                throw HookError.reservedPrefix(path: full, order: order)
            case .hook(let order, let name):
                try checkRegularReadableSafe(full)
                hooks.append(Hook(file: file, order: order, name: name, path: full))
            }
        }
        return Contents(hooks: hooks.sorted(), ignored: ignored)
    }

    /// A `lib/` beside extras.d, which hooks source in their `source` phase, must be as safe
    /// as the hooks themselves.
    public func checkLibrary(topDir: String) throws {
        let lib = topDir + "/lib"
        var info = stat()
        guard stat(lib, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return }
        try checkSafe(lib, info)
        for file in (try? FileManager.default.contentsOfDirectory(atPath: lib)) ?? [] {
            var f = stat()
            if stat(lib + "/" + file, &f) == 0, f.st_mode & S_IFMT == S_IFREG {
                try checkSafe(lib + "/" + file, f)
            }
        }
    }

    private func checkRegularReadableSafe(_ path: String) throws {
        var link = stat()
        guard lstat(path, &link) == 0 else {
            throw HookError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            if link.st_mode & S_IFMT == S_IFLNK { throw HookError.notAFile(path: path, kind: "a dangling symlink") }
            throw HookError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw HookError.notAFile(path: path, kind: "a directory")
        default: throw HookError.notAFile(path: path, kind: "a special file")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HookError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        close(fd)
        try checkSafe(path, info)
    }

    /// sudo's rule for files it trusts: owned by root (or the invoking user), and not
    /// writable by group or others. Anyone else who can change a hook can run code as root.
    private func checkSafe(_ path: String, _ info: stat) throws {
        if info.st_uid != 0 && info.st_uid != trustedUID {
            throw HookError.unsafe(path: path, reason: "is owned by uid \(info.st_uid), not root; chown root \(path)")
        }
        let mode = info.st_mode & 0o7777
        if mode & 0o022 != 0 {
            let octal = String(mode, radix: 8)
            throw HookError.unsafe(
                path: path, reason: "is writable by \(mode & 0o020 != 0 ? "its group" : "others") (mode 0\(octal)); chmod go-w \(path)")
        }
    }
}

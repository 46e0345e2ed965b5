import Core
import FoundationEssentials
import Glibc
import SystemPackage

/// An extras.d directory: finds its hooks, orders them, and refuses before anything runs when
/// one is malformed, reserved, not a regular file, or unsafe.
public struct ExtrasDirectory: Sendable {
    public static let defaultPath = "/etc/hvctl/extras.d"

    /// As given (absolute); `scan()` returns hooks by their physical paths.
    public var path: String
    /// Who may own hooks, their directories and everything on the way from /.
    public var policy: TrustPolicy

    /// A relative `path` is taken from the current directory: hooks run elsewhere (in TOP_DIR).
    public init(path: String, policy: TrustPolicy = .invoking) {
        self.path = Self.absolute(path)
        self.policy = policy
    }

    public struct Contents: Sendable, Equatable, Codable {
        /// In run order.
        public var hooks: [Hook]
        public var ignored: [IgnoredEntry]

        public init(hooks: [Hook], ignored: [IgnoredEntry]) {
            self.hooks = hooks
            self.ignored = ignored
        }
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

    var trust: PathTrust { PathTrust(policy, purpose: "run hooks") }

    /// The hooks in run order. With `topDir`, TOP_DIR and its lib/ tree are checked too, and
    /// every unsafe path of all of them is named in one error, not one per attempt.
    public func scan(topDir: String? = nil) throws -> Contents {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { throw HookError.directoryMissing(path) }
            throw HookError.unreadable(path: path, reason: Errno.current.description)
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw HookError.notADirectory(path) }
        // Every directory from / down: a user who can rename any of them can swap in hooks
        // of their own after this check. The physical path is what runs.
        var unsafe: [TrustError.Problem] = []
        var path = self.path
        do {
            path = try trust.verify(self.path, as: .directory)
        } catch let error as TrustError where !error.problems.isEmpty {
            unsafe += error.problems
        }

        let names: [String]
        do {
            names = try DirectoryListing.names(of: path)
        } catch let error as DirectoryListing.Failure {
            throw HookError.unreadable(path: path, reason: error.reason)
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
                do {
                    let physical = try checkRegularReadableSafe(full)
                    hooks.append(Hook(file: file, order: order, name: name, path: physical))
                } catch let error as TrustError where !error.problems.isEmpty {
                    unsafe += error.problems
                }
            }
        }
        if let topDir {
            do {
                try checkTopDir(topDir)
            } catch let error as TrustError where !error.problems.isEmpty {
                unsafe += error.problems
            }
        }
        if !unsafe.isEmpty { throw TrustError.unsafe(what: "run hooks", problems: unsafe) }
        return Contents(hooks: hooks.sorted(), ignored: ignored)
    }

    /// TOP_DIR, which hooks run in and source from, its `lib/` and `inc/` at every depth (a
    /// file two levels down is sourced as root as surely as one at the top) and DevStack's
    /// files hooks source. Returns TOP_DIR's physical path.
    @discardableResult
    public func checkTopDir(_ topDir: String) throws -> String {
        var top = Self.absolute(topDir)
        try trust.collecting(
            [{ top = try trust.verify(topDir, as: .directory) }]
                + Self.sourcedTrees.map { name in
                    {
                        var info = stat()
                        if lstat(top + "/" + name, &info) == 0 { try trust.verifyTree(top + "/" + name) }
                    }
                }
                + Self.sourcedFiles.map { name in
                    {
                        var info = stat()
                        if lstat(top + "/" + name, &info) == 0 { try trust.verify(top + "/" + name) }
                    }
                })
        return top
    }

    /// What hooks source from TOP_DIR: lib/ (hvctl's layout and DevStack's), and in a DevStack
    /// checkout its inc/ and the files stack.sh sources before it calls a hook.
    static let sourcedTrees = ["lib", "inc", "tools"]
    static let sourcedFiles = ["functions", "functions-common", "stackrc", "local.conf", "localrc", "openrc"]

    private func checkRegularReadableSafe(_ path: String) throws -> String {
        var link = stat()
        guard lstat(path, &link) == 0 else {
            throw HookError.unreadable(path: path, reason: Errno.current.description)
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            if link.st_mode & S_IFMT == S_IFLNK { throw HookError.notAFile(path: path, kind: "a dangling symlink") }
            throw HookError.unreadable(path: path, reason: Errno.current.description)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw HookError.notAFile(path: path, kind: "a directory")
        default: throw HookError.notAFile(path: path, kind: "a special file")
        }
        // O_NONBLOCK: if someone swapped a FIFO in since the stat, the open must not hang.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw HookError.unreadable(path: path, reason: Errno.current.description) }
        close(fd)
        return try trust.verify(path, as: .file)
    }
}

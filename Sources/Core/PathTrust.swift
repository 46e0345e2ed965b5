import FoundationEssentials
import Glibc
import SystemPackage

/// Checks paths against a `TrustPolicy`, from `/` down: every directory on the way and the
/// final entry must be owned by a trusted user and not be writable by group or others. A
/// root-owned sticky directory (/tmp) is accepted on the way, for entries a trusted user owns:
/// the sticky bit keeps everyone else from renaming or removing them.
///
/// Symlinks are followed as the kernel would, and their targets are held to the same rule,
/// so the path that comes back (`resolved`) names the file that was checked: no user outside
/// the policy can swap a component between the check and the moment hvctl (or bash) opens it.
public struct PathTrust: Sendable {
    public var policy: TrustPolicy
    /// What the check is for, in messages: "run hooks", "read the configuration".
    public var purpose: String

    public init(_ policy: TrustPolicy, purpose: String) {
        self.policy = policy
        self.purpose = purpose
    }

    public enum Kind: Sendable { case file, directory, any }

    /// The physical path of `path` once every component passed; throws `TrustError` naming
    /// each unsafe component otherwise, or when a component is missing.
    @discardableResult
    public func verify(_ path: String, as kind: Kind = .any) throws -> String {
        var problems: [TrustError.Problem] = []
        let resolved = try walk(path, problems: &problems)
        if problems.isEmpty && kind != .any {
            var st = stat()
            if lstat(resolved, &st) == 0 {
                let type = st.st_mode & S_IFMT
                if kind == .file && type != S_IFREG { problems.append(.init(path: resolved, reason: "is not a regular file")) }
                if kind == .directory && type != S_IFDIR { problems.append(.init(path: resolved, reason: "is not a directory")) }
            }
        }
        if !problems.isEmpty { throw TrustError.unsafe(what: purpose, problems: problems) }
        return resolved
    }

    /// `verify` for a path that may not exist yet (a state directory hvctl is about to
    /// make): its nearest existing ancestor is held to the rule instead.
    public func verifyExistingPrefix(_ path: String) throws {
        var candidate = Self.absolute(path)
        while true {
            var st = stat()
            if lstat(candidate, &st) == 0 || candidate == "/" {
                // An ancestor of what hvctl will make: a root-owned sticky directory (/tmp)
                // is fine here, as it is on the way to anything.
                var problems: [TrustError.Problem] = []
                _ = try walk(candidate, problems: &problems, last: .onTheWay)
                if !problems.isEmpty { throw TrustError.unsafe(what: purpose, problems: problems) }
                return
            }
            guard errno == ENOENT else { throw TrustError.unreachable(path: candidate, reason: Errno.current.description) }
            candidate = PathName.parent(of: candidate)
            if candidate.isEmpty { candidate = "/" }
        }
    }

    /// The directory `root` (verified as a path) and everything below it, at every depth:
    /// directories, files and symlink targets. Returns `root`'s physical path. For trees hooks
    /// source from (TOP_DIR/lib): a file two levels down is sourced as root as surely as one
    /// at the top. At most `limit` entries are looked at; a larger tree is refused.
    @discardableResult
    public func verifyTree(_ root: String, limit: Int = 200_000) throws -> String {
        // The way to the tree first; its problems are named together with the tree's.
        var problems: [TrustError.Problem] = []
        let top = try walk(root, problems: &problems)
        var seen = 0
        var pending = [top]
        // Directories reached through links too, each once (a link loop ends here).
        var visited = Set<[UInt64]>()
        while let dir = pending.popLast() {
            var dirInfo = stat()
            guard stat(dir, &dirInfo) == 0, visited.insert([UInt64(dirInfo.st_dev), UInt64(dirInfo.st_ino)]).inserted else { continue }
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
                problems.append(.init(path: dir, reason: "cannot be listed (\(Errno.current.description))"))
                continue
            }
            for name in names {
                seen += 1
                if seen > limit { throw TrustError.unreachable(path: top, reason: "more than \(limit) entries to check") }
                let path = dir + "/" + name
                var st = stat()
                guard lstat(path, &st) == 0 else { continue }  // gone meanwhile
                switch st.st_mode & S_IFMT {
                case S_IFLNK:
                    // A link out of the tree must lead somewhere safe as well, and a
                    // directory it leads to is part of the tree. A dangling link sources
                    // nothing today, but whatever is on its way is named all the same.
                    var sub: [TrustError.Problem] = []
                    let target = try? walk(path, problems: &sub)
                    problems += sub
                    var t = stat()
                    if sub.isEmpty, let target, stat(target, &t) == 0, t.st_mode & S_IFMT == S_IFDIR { pending.append(target) }
                case S_IFDIR:
                    if let p = entryProblem(path, st, final: true) { problems.append(p) } else { pending.append(path) }
                default:
                    if let p = entryProblem(path, st, final: true) { problems.append(p) }
                }
            }
        }
        if !problems.isEmpty { throw TrustError.unsafe(what: purpose, problems: problems) }
        return top
    }

    /// Runs `checks`, each of which may throw a TrustError naming problems, and throws one
    /// error naming all of them (each path once): a user fixes a tree in one go, not one path
    /// per attempt. Other errors pass through at once.
    public func collecting(_ checks: [() throws -> Void]) throws {
        var problems: [TrustError.Problem] = []
        for check in checks {
            do {
                try check()
            } catch let error as TrustError where !error.problems.isEmpty {
                problems += error.problems
            }
        }
        if !problems.isEmpty { throw TrustError.unsafe(what: purpose, problems: problems) }
    }

    // MARK: the walk

    /// Walks `path` component by component from `/`, following symlinks (at most 40, as the
    /// kernel), appending every unsafe component to `problems`. Returns the physical path.
    /// How the last component is judged: as the entry itself (strictly), as a directory on
    /// the way (a root-owned sticky one is fine), or not at all (a file hvctl edits but does
    /// not run: its owner may be anyone, as long as nobody else can swap it for another).
    enum Last { case entry, onTheWay, unjudged }

    /// The physical path of a file hvctl writes (the compute config): symlinks resolved,
    /// every directory on the way to it held to the rule, the file itself not (nova may own
    /// its nova.conf). A missing file is fine if its directory passes.
    public func verifyWritable(_ path: String) throws -> String {
        var problems: [TrustError.Problem] = []
        var st = stat()
        let resolved: String
        if lstat(path, &st) == 0 {
            resolved = try walk(path, problems: &problems, last: .unjudged)
            // The file's own directory as an entry: in a sticky one (/tmp) anyone may put a
            // file or link of theirs there between this check and the write.
            _ = try walk(PathName.parent(of: resolved), problems: &problems, last: .entry)
        } else {
            // Not there yet: its directory (made if missing) must be safe.
            let dir = PathName.parent(of: Self.absolute(path))
            var dirInfo = stat()
            if lstat(dir, &dirInfo) != 0 {
                try verifyExistingPrefix(dir)
                return Self.absolute(path)
            }
            resolved = try walk(dir, problems: &problems, last: .entry) + "/" + PathName.last(of: path)
        }
        if !problems.isEmpty { throw TrustError.unsafe(what: purpose, problems: problems) }
        return resolved
    }

    func walk(_ path: String, problems: inout [TrustError.Problem], last judged: Last = .entry) throws -> String {
        var pending = Self.components(Self.absolute(path))
        pending.reverse()  // a stack: the next component last
        var current = "/"
        var parentSticky = false
        var links = 0
        var rootInfo = stat()
        guard lstat("/", &rootInfo) == 0 else { throw TrustError.unreachable(path: "/", reason: Errno.current.description) }
        if let p = entryProblem("/", rootInfo, final: pending.isEmpty && judged == .entry) { problems.append(p) }
        while let name = pending.popLast() {
            if name == "." || name.isEmpty { continue }
            if name == ".." {
                current = PathName.parent(of: current)
                if current.isEmpty { current = "/" }
                parentSticky = Self.isStickyAndOpen(current)
                continue
            }
            let next = current == "/" ? "/" + name : current + "/" + name
            var st = stat()
            guard lstat(next, &st) == 0 else {
                throw TrustError.unreachable(path: next, reason: Errno.current.description)
            }
            let last = pending.isEmpty
            let final = last && judged == .entry
            if st.st_mode & S_IFMT == S_IFLNK {
                // The link itself can only be replaced by whoever may write its directory,
                // which is checked; in a sticky directory only its owner can, so it must be
                // trusted too.
                if parentSticky && !policy.trusts(st.st_uid) {
                    problems.append(.init(path: next, reason: "is a symlink owned by uid \(st.st_uid) in a directory others can write"))
                }
                links += 1
                guard links <= 40 else { throw TrustError.unreachable(path: path, reason: "too many levels of symbolic links") }
                let target = try Self.readLink(next)
                if target.hasPrefix("/") {
                    current = "/"
                    parentSticky = Self.isStickyAndOpen("/")
                }
                pending += Self.components(target).reversed()
                continue
            }
            if !(last && judged == .unjudged), let p = entryProblem(next, st, final: final) { problems.append(p) }
            if !last && st.st_mode & S_IFMT != S_IFDIR {
                throw TrustError.unreachable(path: next, reason: "is not a directory")
            }
            parentSticky = st.st_mode & S_ISVTX != 0 && st.st_mode & 0o022 != 0
            current = next
        }
        return current
    }

    /// What is wrong with one entry, if anything. `final`: the entry itself (strict); else a
    /// directory on the way, where a root-owned sticky directory is accepted.
    func entryProblem(_ path: String, _ st: stat, final: Bool) -> TrustError.Problem? {
        if !policy.trusts(st.st_uid) {
            return .init(path: path, reason: "is owned by uid \(st.st_uid), not \(policy.ownersText)")
        }
        let mode = st.st_mode & 0o7777
        guard mode & 0o022 != 0 else { return nil }
        if !final && st.st_uid == 0 && mode & UInt32(S_ISVTX) != 0 { return nil }
        let who = mode & 0o002 != 0 ? "others" : "its group"
        return .init(path: path, reason: "is writable by \(who) (mode 0\(String(mode, radix: 8)))")
    }

    /// A directory anyone may create entries in, where only the sticky bit protects them.
    static func isStickyAndOpen(_ dir: String) -> Bool {
        var st = stat()
        return lstat(dir, &st) == 0 && st.st_mode & S_ISVTX != 0 && st.st_mode & 0o022 != 0
    }

    static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    public static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return FileManager.default.currentDirectoryPath + "/" + path
    }

    static func readLink(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { throw TrustError.unreachable(path: path, reason: Errno.current.description) }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

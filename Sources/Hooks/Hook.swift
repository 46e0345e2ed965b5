/// One extras.d hook: a file `NN-name.sh` with NN in 10–89.
public struct Hook: Sendable, Equatable, Codable, Comparable {
    /// The file name, e.g. "20-foo.sh"; also the hook's SyslogIdentifier and HVCTL_HOOK.
    public var file: String
    /// The two-digit order prefix.
    public var order: Int
    /// The part between the prefix and ".sh".
    public var name: String
    /// The absolute path of the file.
    public var path: String

    /// DevStack pinned LC_ALL=C: prefix first, then the name compared byte by byte.
    public static func < (a: Hook, b: Hook) -> Bool {
        if a.order != b.order { return a.order < b.order }
        return Array(a.name.utf8).lexicographicallyPrecedes(Array(b.name.utf8))
    }
}

/// A directory entry that is not a hook and does not stop the run.
public struct IgnoredEntry: Sendable, Equatable, Codable {
    public var file: String
    public var reason: String
}

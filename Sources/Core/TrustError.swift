/// Why hvctl refuses a path it would run, source, or read instructions or state from.
public enum TrustError: Error, Equatable, Sendable, CustomStringConvertible {
    /// One problem: the path and what is wrong with it ("is writable by others (mode 0757)").
    public struct Problem: Sendable, Equatable, Comparable {
        public var path: String
        public var reason: String
        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
        public static func < (a: Problem, b: Problem) -> Bool {
            Array(a.path.utf8).lexicographicallyPrecedes(Array(b.path.utf8))
        }
    }

    /// `what`: what hvctl was about to do with the paths ("run hooks", "read the configuration").
    /// Each path is named once, however many checks found it.
    case unsafe(what: String, problems: [Problem])
    /// A component of the path does not exist or cannot be looked at.
    case unreachable(path: String, reason: String)

    /// How many problems a message names before it counts the rest.
    public static let shown = 5

    public var description: String {
        switch self {
        case .unsafe(let what, let problems):
            var once = Set<String>()
            let sorted = problems.sorted().filter { once.insert($0.path).inserted }
            let named = sorted.prefix(Self.shown).map { "\(OneLine.escaping($0.path)) \($0.reason)" }
            let rest = sorted.count > Self.shown ? " and \(sorted.count - Self.shown) more" : ""
            let fix = sorted.contains { $0.reason.hasPrefix("is owned") || $0.reason.hasPrefix("is writable") || $0.reason.contains("symlink owned") }
                ? "; make each owned by root (or a trusted user) and not writable by group or others" : ""
            let head = sorted.count == 1 ? "" : "\(sorted.count) unsafe paths: "
            return "refusing to \(what): \(head)\(named.joined(separator: "; "))\(rest)\(fix)"
        case .unreachable(let path, let reason):
            return "cannot check \(OneLine.escaping(path)): \(reason)"
        }
    }

    /// Sorted, each path once.
    public var problems: [Problem] {
        guard case .unsafe(_, let p) = self else { return [] }
        var once = Set<String>()
        return p.sorted().filter { once.insert($0.path).inserted }
    }
}

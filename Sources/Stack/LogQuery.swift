import Hooks
import Systemd

/// What `hvctl logs` is asked to show.
public struct LogQuery: Sendable {
    public enum Scope: Sendable, Equatable {
        /// Hook output of the newest run (by its start marker).
        case latestRun
        case run(String)
        case allRuns
        /// A driver's daemon unit, and hvctl's own entries about that driver.
        case driver(name: String, units: [String])
        case unit(String)
    }

    public var scope: Scope = .latestRun
    /// "20-foo.sh" or "20-foo".
    public var hook: String?
    public var phase: String?
    /// Only the last N lines.
    public var lines: Int?
    /// Realtime bounds in microseconds since the epoch.
    public var since: UInt64?
    public var until: UInt64?
    /// 0 (emerg) … 7 (debug): this and more urgent.
    public var maxPriority: Int?
    /// A regular expression the message must contain.
    public var pattern: String?
    /// Start after this entry (as printed by --show-cursor).
    public var afterCursor: String?

    public init() {}

    var hookFile: String? {
        guard let hook else { return nil }
        return hook.hasSuffix(".sh") ? hook : hook + ".sh"
    }

    /// What --phase may name: the stack phases, then unstack and clean.
    public static let phases = HookCall.StackPhase.allCases.map(\.rawValue) + ["unstack", "clean"]

    /// "20-foo.sh" or "20-foo", as a hook that can run is named.
    public static func isHookName(_ hook: String) -> Bool {
        if case .hook = HookName.classify(hook.hasSuffix(".sh") ? hook : hook + ".sh") { return true }
        return false
    }

    /// Whether `text` has the form sd_journal_seek_cursor() takes: `;`-separated `k=hex`
    /// fields (s, i, b, m, t, x) that pin an entry by seqnum, by boot and monotonic time, or
    /// by realtime. Checked up front so a typo is an error that says so.
    public static func isCursor(_ text: String) -> Bool {
        var keys = Set<Character>()
        for field in text.split(separator: ";", omittingEmptySubsequences: false) {
            guard field.count > 2, let key = field.first, "sibmtx".contains(key), field.dropFirst().first == "=",
                field.dropFirst(2).allSatisfy(\.isHexDigit)
            else { return false }
            keys.insert(key)
        }
        return keys.isSuperset(of: ["s", "i"]) || keys.isSuperset(of: ["b", "m"]) || keys.contains("t")
    }

    /// Whether the scope is one run's hooks, which a follower leaves when the run ends.
    public var isRunScope: Bool {
        switch scope {
        case .latestRun, .run: return true
        default: return false
        }
    }
}

/// One line to show: the entry and what hvctl knows it is.
public struct LogLine: Sendable {
    public var entry: JournalEntry
    /// "20-foo.sh", for hook output.
    public var hook: String?
    /// "stack", "unstack" or "clean", for hook output.
    public var mode: String?
    /// "install", … (for unstack and clean, the mode again).
    public var phase: String?

    /// "stack install", "unstack", …
    public var call: String? {
        guard let mode else { return nil }
        return mode == "stack" ? "stack \(phase ?? "")" : mode
    }
}

public enum LogError: Error, Equatable, Sendable, CustomStringConvertible {
    case noRuns
    case latestUnrecorded(String)
    case noSuchRun(String)
    case badPattern(String)
    case badTime(String)
    case exportUnwritable(String, reason: String)

    public var description: String {
        switch self {
        case .noRuns: return "the journal holds no hvctl run yet (run hooks first: hvctl hooks run …)"
        case .latestUnrecorded(let run):
            return "the latest run, \(run), is not in the journal (journald was not running); older runs: --all-runs or --run ID"
        case .noSuchRun(let id): return "the journal holds nothing of run '\(id)'"
        case .badPattern(let p): return "invalid --grep pattern '\(p)'"
        case .exportUnwritable(let path, let reason): return "cannot write the export to \(path): \(reason)"
        case .badTime(let t):
            return "invalid time '\(t)': use 'YYYY-MM-DD HH:MM[:SS]', 'HH:MM[:SS]', 'today', 'yesterday', 'now', or a relative time like -1h, -30min, -10s"
        }
    }
}

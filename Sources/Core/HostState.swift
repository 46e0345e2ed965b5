import FoundationEssentials
import Glibc
import SystemPackage

/// What hvctl remembers about this host between commands: the active driver and, per driver,
/// what hvctl itself did (so `stop` only stops a daemon hvctl started).
///
/// One JSON file in the state directory (/var/lib/hvctl, or $HVCTL_STATE_DIR), always
/// replaced atomically. A file that does not parse is reported, never silently replaced.
public struct HostState: Sendable, Equatable, Codable {
    public struct Driver: Sendable, Equatable, Codable {
        /// hvctl started the daemon (it was not running before), so hvctl may stop it.
        public var startedByHvctl = false
        public var configured = false
        /// hvctl's stack of this driver completed, and no unstack, clean or later stack has
        /// begun since: with the daemon running, the driver is up (`hvctl start` is then a
        /// no-op). A daemon that merely runs is not up: its hooks and configure never ran.
        public var stacked: Bool?
        /// The base image configure settled on (Docker).
        public var baseImage: String?
        /// "kvm" or "qemu", as configure found the host (libvirt).
        public var domainType: String?
        public var lastStart: Date?
        /// A script driver: how each verb last ended, by verb.
        public var verbs: [String: VerbRecord]?

        public struct VerbRecord: Sendable, Equatable, Codable {
            public var ok: Bool
            public var at: Date
        }

        public init() {}

        public mutating func record(_ verb: String, ok: Bool) {
            verbs = (verbs ?? [:]).merging([verb: VerbRecord(ok: ok, at: Date())]) { $1 }
        }
    }

    /// One command's flow (stack, unstack, clean, switch) and what happened in it.
    public struct Run: Sendable, Equatable, Codable {
        public struct Step: Sendable, Equatable, Codable {
            public var name: String
            public var ok: Bool
            public var seconds: Double
            public var detail: String?
            public init(name: String, ok: Bool, seconds: Double, detail: String? = nil) {
                self.name = name
                self.ok = ok
                self.seconds = seconds
                self.detail = detail
            }
        }
        public var id: String
        public var flow: String
        public var driver: String
        public var started: Date
        public var ended: Date?
        public var succeeded: Bool?
        public var steps: [Step] = []
        public init(id: String, flow: String, driver: String, started: Date) {
            self.id = id
            self.flow = flow
            self.driver = driver
            self.started = started
        }
    }

    public var version = 1
    public var activeDriver: String?
    public var drivers: [String: Driver] = [:]
    /// What hvctl created and has not removed yet: what it may destroy (ResourceRecord).
    public var resources: [ResourceRecord]? = nil
    /// The latest runs, newest last (at most `maxRuns`).
    public var runs: [Run]? = nil
    public static let maxRuns = 50

    public mutating func record(_ run: Run) {
        var list = runs ?? []
        if let i = list.firstIndex(where: { $0.id == run.id }) { list[i] = run } else { list.append(run) }
        if list.count > Self.maxRuns { list.removeFirst(list.count - Self.maxRuns) }
        runs = list
    }

    public init() {}

    public subscript(driver name: String) -> Driver {
        get { drivers[name] ?? Driver() }
        set { drivers[name] = newValue }
    }
}

/// Reads and writes `HostState` in a directory.
public struct StateStore: Sendable {
    public static let defaultDirectory = "/var/lib/hvctl"
    public let directory: String
    public var file: String { directory + "/state.json" }

    public init(directory: String) {
        self.directory = directory
    }

    /// $HVCTL_STATE_DIR, else /var/lib/hvctl; absolute, since it is handed to reaper units
    /// whose working directory is not ours.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> StateStore {
        StateStore(directory: RuntimePaths.normalized(env["HVCTL_STATE_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultDirectory))
    }

    /// The state decides what hvctl destroys and which daemons it dials: its directory, every
    /// directory above it and its files must be safe (the trust rule), or a user who made
    /// $HVCTL_STATE_DIR could plant records and leases.
    public func checkTrusted() throws {
        var st = stat()
        if stat(directory, &st) == 0 && (st.st_mode & S_IFMT) != S_IFDIR { throw StateError.notADirectory(path: directory) }
        let trust = PathTrust(.invoking, purpose: "use the state directory")
        if lstat(directory, &st) == 0 {
            // The directory itself strictly: a sticky /tmp as HVCTL_STATE_DIR lets anyone
            // put a lease or a lock file of theirs in it.
            try trust.verify(directory, as: .directory)
            if lstat(file, &st) == 0 { try trust.verify(file) }
        } else {
            try trust.verifyExistingPrefix(directory)
        }
    }

    public func load() throws -> HostState {
        // Only a missing file means "no state yet"; anything else in the way is reported.
        try checkTrusted()
        var st = stat()
        if stat(file, &st) != 0 {
            if errno == ENOENT || errno == ENOTDIR { return HostState() }
            throw StateError.unreadable(path: file, reason: Errno.current.description)
        }
        if (st.st_mode & S_IFMT) != S_IFREG { throw StateError.unreadable(path: file, reason: (st.st_mode & S_IFMT) == S_IFDIR ? "it is a directory" : "it is not a regular file") }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw StateError.unreadable(path: file, reason: Errno.current.description)
        }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(HostState.self, from: data)
        } catch {
            throw StateError.corrupt(path: file)
        }
    }

    public func save(_ state: HostState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        do {
            try AtomicFile.write(try encoder.encode(state), to: file, mode: 0o644)
        } catch let error as AtomicFileError {
            throw StateError.unwritable(path: file, reason: error.reason)
        }
    }

    /// Load, change, save, holding `.state.lock` in the directory: a reaper recording a
    /// dead run and the command the user runs next must not lose each other's change.
    @discardableResult
    public func update(_ change: (inout HostState) throws -> Void) throws -> HostState {
        try checkTrusted()
        do {
            try AtomicFile.makeDirectory(directory)
        } catch let error as AtomicFileError {
            throw StateError.unwritable(path: error.path, reason: error.reason)
        }
        // Again, now that it exists: judged strictly, so nothing planted while it was being
        // made is used.
        try checkTrusted()
        let lockPath = directory + "/.state.lock"
        let lock: LockedFile
        do {
            lock = try LockedFile.open(lockPath, create: 0o644)
            try lock.lock()
        } catch {
            throw StateError.unwritable(path: lockPath, reason: error.description)
        }
        defer { lock.close() }
        var state = try load()
        try change(&state)
        try save(state)
        return state
    }
}

public enum StateError: Error, Equatable, Sendable, CustomStringConvertible {
    case corrupt(path: String)
    case unwritable(path: String, reason: String)
    case unreadable(path: String, reason: String)
    case notADirectory(path: String)

    public var description: String {
        switch self {
        case .corrupt(let path):
            return "hvctl's state file \(path) is not valid; it was left as it is: look at it, then move it away to start afresh"
        case .unwritable(let path, let reason):
            return "cannot write hvctl's state file \(path): \(reason)"
        case .unreadable(let path, let reason):
            return "cannot read hvctl's state file \(path): \(reason); it was left as it is"
        case .notADirectory(let path):
            return "hvctl's state directory \(path) is not a directory; move it away, or set HVCTL_STATE_DIR"
        }
    }
}

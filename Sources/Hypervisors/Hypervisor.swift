import Systemd

/// A hypervisor driver: DevStack's five plugin verbs, plus status and instances.
///
/// Every verb is idempotent — a second run is safe and quick — and throws
/// `HypervisorError`s worded as what to do. A driver is one folder in Sources/Hypervisors and
/// one entry in `Drivers.all`; it owns its section of hvctl.conf, the endpoint its runs'
/// leases record, its doctor check and the units `hvctl logs NAME` reads, so nothing outside
/// its folder names it.
public protocol Hypervisor: Sendable {
    var name: String { get }
    /// The consumer's `[DEFAULT] compute_driver` for this driver (nova's naming).
    var computeDriver: String { get }

    /// Makes sure the hypervisor's software is on the host.
    func install(_ context: DriverContext) async throws
    /// Prepares it for use: base image, settings, the consumer's config file.
    func configure(_ context: DriverContext) async throws
    /// Brings it up and waits until it answers.
    func start(_ context: DriverContext) async throws -> StartResult
    /// Stops hvctl's instances and, if hvctl started the daemon (or `force`), the daemon.
    func stop(_ context: DriverContext, force: Bool) async throws -> StopResult
    /// Removes what carries hvctl's mark within `scope`, and nothing else. A daemon that is
    /// installed but not running is reported `unreachable`, never started to look.
    func cleanup(_ context: DriverContext, dryRun: Bool, scope: CleanupScope) async throws -> CleanupReport
    /// Looks, without starting anything.
    func status(_ context: DriverContext) async throws -> DriverStatus

    func launch(_ request: InstanceRequest, _ context: DriverContext) async throws -> Instance
    func instances(_ context: DriverContext) async throws -> [Instance]
    func delete(_ name: String, _ context: DriverContext) async throws
    /// Returns once the instance is ready (a driver documents what ready means for it), or
    /// throws `HypervisorError.timedOut` after `timeout`; says how the wait goes through
    /// `context.progress`.
    func waitReady(_ name: String, timeout: Duration, _ context: DriverContext) async throws -> Instance
    /// Attaches `terminal` to the instance's console until the user types its escape byte or
    /// the console closes.
    func console(_ name: String, _ terminal: ConsoleTerminal, _ context: DriverContext) async throws -> ConsoleTerminal.End
    /// Writes the instance's output to `emit`, chunk by chunk, as `output` asks.
    func output(of name: String, _ output: InstanceOutput, _ context: DriverContext, emit: @escaping @Sendable (String) -> Void) async throws

    /// hvctl.conf's `[NAME]` section: the value to keep for `key`, or a
    /// `HypervisorError.badSetting` saying what the key takes.
    func checkSetting(_ key: String, _ value: String) throws -> String
    /// Where its verbs reach the hypervisor under `settings` (a socket, a URI); nil when it
    /// dials nothing. Each run's lease records it, so a reaper reaches the same place — and
    /// only a place this host's hvctl is configured with.
    func endpoint(_ settings: DriverSettings) -> String?
    /// Two spellings of one endpoint compare equal after this.
    func normalizedEndpoint(_ endpoint: String) -> String
    /// `settings` pointed at `endpoint` (one `endpoint` returned).
    func setEndpoint(_ endpoint: String, in settings: inout DriverSettings)
    /// What `hvctl doctor` says of it, never starting anything.
    func doctor(_ context: DoctorContext) async -> DriverCheck
    /// The units whose journal `hvctl logs NAME` shows besides hvctl's own lines.
    var logUnits: [String] { get }
}

extension Hypervisor {
    public func checkSetting(_ key: String, _ value: String) throws -> String {
        throw HypervisorError.badSetting(driver: name, key: key, takes: nil)
    }
    public func endpoint(_ settings: DriverSettings) -> String? { nil }
    public func normalizedEndpoint(_ endpoint: String) -> String { endpoint }
    public func setEndpoint(_ endpoint: String, in settings: inout DriverSettings) {}
    public var logUnits: [String] { [] }

    /// Ready means running, for drivers with nothing more to look at.
    public func waitReady(_ name: String, timeout: Duration, _ context: DriverContext) async throws -> Instance {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            guard let instance = try await instances(context).first(where: { $0.name == name }) else {
                throw HypervisorError.noSuchInstance(name, driver: self.name)
            }
            if instance.state == "running" { return instance }
            guard ContinuousClock.now < deadline else {
                throw HypervisorError.timedOut("\(name) is \(instance.state), not running,", after: timeout)
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    public func console(_ name: String, _ terminal: ConsoleTerminal, _ context: DriverContext) async throws -> ConsoleTerminal.End {
        throw HypervisorError.notSupported("\(self.name) instances have no console hvctl can attach to")
    }

    public func output(of name: String, _ output: InstanceOutput, _ context: DriverContext, emit: @escaping @Sendable (String) -> Void) async throws {
        throw HypervisorError.notSupported("\(self.name) instances have no output hvctl can read")
    }
}

public enum StartResult: Sendable, Equatable {
    case alreadyRunning
    case started(seconds: Double)
}

public struct StopResult: Sendable, Equatable, Codable {
    public var stoppedInstances: Int
    public var stoppedDaemon: Bool
    /// Why the daemon was left running, when it was.
    public var note: String?
}

public struct CleanupReport: Sendable, Equatable, Codable {
    public var driver: String
    /// What was removed (or, with dryRun, would be), by kind: "container", "network", …
    public var removed: [String: [String]] = [:]
    public var dryRun: Bool
    public var killSeconds: Double = 0
    public var removeSeconds: Double = 0
    /// Why nothing could be looked at: the daemon is installed but not running (hvctl does
    /// not start one just to clean up), or does not answer.
    public var unreachable: String?
    /// The driver's daemon is not on this host at all: nothing of it can exist.
    public var notInstalled = false
    /// hvctl's own items left in place because something of someone else's uses them.
    public var kept: [String] = []
    /// hvctl's items left in place because the run that made them is still going.
    public var spared: [String] = []
    /// Resources that are not hvctl's (no mark, or a mark with no record: a copy) that were
    /// seen and left alone, counted by kind (reported with dryRun).
    public var unmarked: [String: Int] = [:]
    /// What could not be done or looked at; any makes the cleanup fail.
    public var failures: [String] = []

    public init(driver: String, dryRun: Bool) {
        self.driver = driver
        self.dryRun = dryRun
    }

    public var count: Int { removed.values.reduce(0) { $0 + $1.count } }
    /// Marked items still there afterwards (kept or spared).
    public var remaining: Int { kept.count + spared.count }
}

public struct DriverStatus: Sendable, Equatable, Codable {
    public var driver: String
    public var installed: Bool
    public var configured: Bool
    public var running: Bool
    public var version: String?
    /// Managed instances, when the hypervisor could be asked without starting it.
    public var instances: Int?
    public var detail: String
}

public struct Instance: Sendable, Equatable, Codable {
    public var name: String
    public var driver: String
    public var id: String
    /// "running", "exited", "shutoff", …
    public var state: String
    public var image: String?
    /// The run id of the command that created it.
    public var run: String?
    /// Its IPv4 address with prefix, when it has one.
    public var address: String?

    public init(name: String, driver: String, id: String, state: String, image: String?, run: String?, address: String? = nil) {
        (self.name, self.driver, self.id, self.state, self.image, self.run, self.address) = (name, driver, id, state, image, run, address)
    }
}

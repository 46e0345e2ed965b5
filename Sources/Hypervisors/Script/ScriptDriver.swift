import Core
import FoundationEssentials

/// A hypervisor that is a DevStack hypervisor script: `hypervisor-NAME` defining
/// install_/configure_/start_/stop_/cleanup_nova_hypervisor, as DevStack's
/// lib/nova_plugins holds them. Each verb is a unit (`context.scripts`); hvctl knows nothing
/// of the hypervisor behind it, so its status is what hvctl recorded of the verbs, and it has
/// no instances.
public struct ScriptDriver: Hypervisor, Equatable {
    public let name: String
    /// The script, its physical path once it passed the trust rule.
    public let path: String
    /// Where it was found: "the DevStack tree" or hvctl's hypervisors.d.
    public let origin: String

    public init(name: String, path: String, origin: String) {
        self.name = name
        self.path = path
        self.origin = origin
    }

    /// The script's configure writes compute_driver itself.
    public var computeDriver: String { "" }

    public func install(_ context: DriverContext) async throws { try await run(.install, context) }
    public func configure(_ context: DriverContext) async throws { try await run(.configure, context) }

    public func start(_ context: DriverContext) async throws -> StartResult {
        // Outside a flow (`hvctl start` of a driver that is up): what hvctl recorded says so,
        // and the verb is not run out of its environment.
        if context.scripts == nil, try await status(context).running { return .alreadyRunning }
        let clock = ContinuousClock()
        let began = clock.now
        try await run(.start, context)
        return .started(seconds: (clock.now - began).inSeconds)
    }

    public func stop(_ context: DriverContext, force: Bool) async throws -> StopResult {
        try await run(.stop, context)
        return StopResult(stoppedInstances: 0, stoppedDaemon: false, note: "\(ScriptVerb.stop.function) ran")
    }

    public func cleanup(_ context: DriverContext, dryRun: Bool, scope: CleanupScope) async throws -> CleanupReport {
        var report = CleanupReport(driver: name, dryRun: dryRun)
        guard !dryRun else { return report }
        if scope.run != nil { return report }  // a reaper: the script has nothing of one run's
        try await run(.cleanup, context)
        report.removed["script"] = [ScriptVerb.cleanup.function]
        return report
    }

    /// What hvctl recorded of the verbs: a script driver has no daemon to look at.
    public func status(_ context: DriverContext) async throws -> DriverStatus {
        let verbs = try context.state.load()[driver: name].verbs ?? [:]
        func ok(_ verb: ScriptVerb) -> Bool { verbs[verb.rawValue]?.ok == true }
        let startedAt = verbs[ScriptVerb.start.rawValue]?.at ?? .distantPast
        let stoppedAt = verbs[ScriptVerb.stop.rawValue]?.at ?? .distantPast
        let last = verbs.max { $0.value.at < $1.value.at }
        let detail = "script \(path) (\(origin))" + (last.map { "; last verb: \($0.key) \($0.value.ok ? "ok" : "failed")" } ?? "; no verb run yet")
        return DriverStatus(
            driver: name, installed: ok(.install), configured: ok(.configure), running: ok(.start) && startedAt > stoppedAt,
            detail: detail)
    }

    public func launch(_ request: InstanceRequest, _ context: DriverContext) async throws -> Instance { throw noInstances }
    public func instances(_ context: DriverContext) async throws -> [Instance] { throw noInstances }
    public func delete(_ name: String, _ context: DriverContext) async throws { throw noInstances }

    public func doctor(_ context: DoctorContext) async -> DriverCheck {
        DriverCheck(.ok, "hypervisor script \(path) (\(origin)); its verbs run as units")
    }

    var noInstances: HypervisorError {
        .notSupported("instances are not supported by a script driver (\(name) is \(path)); hvctl knows nothing of its hypervisor but its five verbs")
    }

    /// One verb as a unit, recorded in the state whatever its outcome.
    func run(_ verb: ScriptVerb, _ context: DriverContext) async throws {
        guard let scripts = context.scripts else {
            throw HypervisorError.notSupported("\(name) is a script driver: its verbs run in a flow (hvctl stack|unstack|clean \(name))")
        }
        do {
            try await scripts.run(verb, of: self)
        } catch {
            try? context.state.update { $0[driver: name].record(verb.rawValue, ok: false) }
            throw error
        }
        try context.state.update {
            $0[driver: name].record(verb.rawValue, ok: true)
            if verb == .configure { $0[driver: name].configured = true }
        }
    }
}

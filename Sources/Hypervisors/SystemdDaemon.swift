import FoundationEssentials
import Systemd

/// A hypervisor daemon that systemd manages — a service and the socket units that activate it
/// (docker.service with docker.socket; libvirtd.service with its three sockets) — as every
/// such driver needs it: looked at without waking it, started and waited for, stopped sockets
/// first, and stopped only if hvctl started it (kept in the state, on record before the start
/// job so an interrupted start is not misremembered).
public struct SystemdDaemon: Sendable {
    /// The driver whose daemon this is, for the state and messages.
    public var driver: String
    public var service: String
    /// Stopped before the service: while one listens, any connection starts the daemon again.
    public var sockets: [String]
    /// The packages that bring it, for "apt-get install …".
    public var packages: [String]
    /// A daemon whose service exits when idle while its socket stays (podman.service after a
    /// few seconds; its containers keep running): it is up while the first socket listens, and
    /// starting it is starting that socket.
    public var upWhileSocketListens: Bool

    public init(driver: String, service: String, sockets: [String], packages: [String], upWhileSocketListens: Bool = false) {
        self.driver = driver
        self.service = service
        self.sockets = sockets
        self.packages = packages
        self.upWhileSocketListens = upWhileSocketListens
    }

    /// The unit `start` starts.
    var startUnit: String { upWhileSocketListens ? sockets.first ?? service : service }

    /// Whether the daemon is up, looked at through its units only.
    public func isUp(_ context: DriverContext) async throws -> Bool {
        if try await unit(context).isActive { return true }
        guard upWhileSocketListens, let socket = sockets.first else { return false }
        return try await context.systemd.unit(socket).isActive
    }

    public var installHint: String { "apt-get install \(packages.joined(separator: " "))" }

    public func unit(_ context: DriverContext) async throws -> UnitState {
        try await context.systemd.unit(service)
    }

    /// The service's unit, or `notInstalled` when systemd does not know it.
    public func installed(_ context: DriverContext) async throws -> UnitState {
        let state = try await unit(context)
        guard try isInstalled(state) else { throw HypervisorError.notInstalled(driver: driver, install: installHint) }
        return state
    }

    /// Whether systemd knows the service (else its package is missing); `masked` when
    /// someone masked it, which installing cannot fix and hvctl does not undo.
    public func isInstalled(_ context: DriverContext) async throws -> Bool {
        try isInstalled(try await unit(context))
    }

    private func isInstalled(_ state: UnitState) throws -> Bool {
        if state.loadState == "masked" { throw HypervisorError.masked(driver: driver, unit: service) }
        return state.isKnown
    }

    /// Throws `daemonStopped` unless the service runs: callers that only look must never wake
    /// it through its socket.
    public func requireRunning(_ context: DriverContext) async throws {
        let state = try await unit(context)
        guard try await isUp(context) else {
            throw HypervisorError.daemonStopped(driver: driver, detail: "\(service) is \(state.activeState)", start: "hvctl start \(driver)")
        }
    }

    /// Starts the service (or the socket, `upWhileSocketListens`) and waits until `ready` says
    /// the daemon answers, within `startTimeout`, with progress every 5 s. `wasUp`: it was up
    /// before, so hvctl did not start it. Returns how long it took.
    public func start(
        _ context: DriverContext, wasUp: Bool, waitingFor what: String, ready: @Sendable () async -> Bool
    ) async throws -> Double {
        let clock = ContinuousClock()
        let began = clock.now
        let service = startUnit
        context.progress("starting \(service)")
        if !wasUp {
            try context.state.update {
                $0[driver: driver].startedByHvctl = true
                $0[driver: driver].lastStart = Date()
            }
        }
        let job = try await context.systemd.start(service, timeout: context.settings.startTimeout)
        guard job.succeeded else {
            if !wasUp { try? context.state.update { $0[driver: driver].startedByHvctl = false } }
            if (try? await context.systemd.unit(service))?.result == "start-limit-hit" {
                throw HypervisorError.daemonFailed(
                    "systemd refuses to start \(service) again so soon (start-limit-hit); wait a minute, or run `systemctl reset-failed \(service)`")
            }
            throw HypervisorError.daemonFailed("starting \(service) ended '\(job.result)'; see `journalctl -u \(service)`")
        }
        let deadline = began.advanced(by: context.settings.startTimeout)
        var nextNote = began.advanced(by: .seconds(5))
        while !(await ready()) {
            if clock.now >= deadline {
                throw HypervisorError.timedOut("\(service) started but \(what)", after: context.settings.startTimeout)
            }
            if clock.now >= nextNote {
                context.progress("waiting until \(what) (\((clock.now - began).formattedSeconds))")
                nextNote = nextNote.advanced(by: .seconds(5))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return (clock.now - began).inSeconds
    }

    /// Whether hvctl started the daemon, so `stop` may stop it.
    public func startedByHvctl(_ context: DriverContext) throws -> Bool {
        try context.state.load()[driver: driver].startedByHvctl
    }

    /// Stops the sockets, then the service, and forgets that hvctl started it.
    public func stopUnits(_ context: DriverContext) async throws {
        for unit in sockets + [service] {
            let job = try await context.systemd.stop(unit, timeout: .seconds(120))
            guard job.succeeded else { throw HypervisorError.daemonFailed("stopping \(unit) ended '\(job.result)'") }
        }
        try forgetStart(context)
    }

    public func forgetStart(_ context: DriverContext) throws {
        try context.state.update { $0[driver: driver].startedByHvctl = false }
    }

    /// The stop of a daemon whose service is not running: its sockets go too if hvctl
    /// started it (or `force`), since one listening would start it again.
    public func stopWhileDown(_ context: DriverContext, force: Bool) async throws -> StopResult {
        if try startedByHvctl(context) || force {
            try await stopUnits(context)
        } else {
            try forgetStart(context)
        }
        return StopResult(stoppedInstances: 0, stoppedDaemon: false, note: "\(service) was not running")
    }

    /// After the instances are stopped: the daemon too if hvctl started it, or `force`.
    public func finishStop(_ context: DriverContext, force: Bool, stoppedInstances: Int) async throws -> StopResult {
        guard try startedByHvctl(context) || force else {
            return StopResult(
                stoppedInstances: stoppedInstances, stoppedDaemon: false,
                note: "\(service) was running before hvctl started it, so it was left running (--force stops it)")
        }
        try await stopUnits(context)
        return StopResult(stoppedInstances: stoppedInstances, stoppedDaemon: true, note: nil)
    }

    /// nil when the service runs; else the driver's status, from its units alone.
    public func statusUnlessRunning(_ context: DriverContext, configured: Bool) async throws -> DriverStatus? {
        let state = try await unit(context)
        let masked = state.loadState == "masked"
        guard state.isKnown || masked else {
            return DriverStatus(driver: driver, installed: false, configured: configured, running: false, detail: "\(service) is not installed")
        }
        guard !(try await isUp(context)) else { return nil }
        var detail = masked ? "\(service) is masked (systemd will not start it)" : "\(service) is \(state.activeState)"
        if let first = sockets.first { detail += "; \(first) is \(try await context.systemd.unit(first).activeState)" }
        return DriverStatus(driver: driver, installed: true, configured: configured, running: false, detail: detail)
    }

    /// nil when the service runs; else the report of a cleanup that could not look: not
    /// installed, or installed and not running (hvctl does not start a daemon just to clean
    /// up). A daemon on its way up is waited for (at most a minute): after a reboot, or one a
    /// run that just died had started.
    public func unlessRunning(_ context: DriverContext, dryRun: Bool) async throws -> CleanupReport? {
        let state = try await context.systemd.settledUnit(service)
        var report = CleanupReport(driver: driver, dryRun: dryRun)
        if !state.isKnown {
            report.notInstalled = true
        } else if !state.isActive, !(try await isUp(context)) {
            report.unreachable = "\(service) is \(state.activeState), and hvctl does not start it just to clean up (`hvctl start \(driver)`, then clean up)"
        } else {
            return nil
        }
        return report
    }

    /// Doctor's look at the units: nil when the service runs (the driver may then ask the
    /// daemon itself), else what is wrong. A listening socket is not probed: that would
    /// start the daemon.
    public func doctorUnits(_ context: DoctorContext) async -> DriverCheck? {
        guard let systemd = context.systemd else { return .withoutSystemd }
        do {
            let state = try await systemd.unit(service)
            guard state.isKnown else { return DriverCheck(.fail, "\(service) is not installed (\(state.loadState))", fix: installHint) }
            guard !state.isActive else { return nil }
            let start = "systemctl start \(startUnit)"
            if upWhileSocketListens, let first = sockets.first, try await systemd.unit(first).isActive {
                return nil  // up: the socket is the API
            }
            if let first = sockets.first, try await systemd.unit(first).isActive {
                return DriverCheck(
                    .warn, "\(service) is stopped; \(first) is listening and would start it on the first connection (not probed, so nothing was started)",
                    fix: start)
            }
            return DriverCheck(.fail, "\(service) is \(state.activeState) and nothing would start it", fix: start)
        } catch {
            return DriverCheck(.fail, "\(error)")
        }
    }
}

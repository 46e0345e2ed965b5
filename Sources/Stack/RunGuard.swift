import Core
import FoundationEssentials
import Glibc
import Hypervisors
import Systemd

/// Wraps one hvctl command that creates resources, so that if it dies unfinished what it
/// made does not stay behind:
///
/// 1. runs that died before are reaped first (the "next command" half of the guarantee);
/// 2. its reaper unit is started: `hvctl reap --wait RUN` in a transient unit of its own,
///    outside this process, which watches this process, then its lease, and reaps the run
///    the moment this process dies without finishing (the "at once" half);
/// 3. this run's lease is taken (RunLease);
/// 4. the body runs; however it ends — success, error, interrupt — the lease is finished, so
///    the reaper exits without touching anything.
public enum RunGuard {
    public static func guarding<T>(
        _ context: DriverContext, command: String, drivers: [String], note: @escaping @Sendable (String) -> Void,
        _ body: () async throws -> T
    ) async throws -> T {
        let runtime = HostCleanup.runtimeDirectory()
        try await reapDead(context, runtimeDirectory: runtime, note: note)
        let info = RunLease.Info(
            run: context.run.value, pid: getpid(), command: command, started: Date(),
            endpoints: Drivers.endpoints(context.settings), drivers: drivers)
        // The reaper first: it watches this process until the lease exists, then the lease.
        do {
            try await context.systemd.launch(
                reaperUnit(context.run, owner: .current, store: context.state, runtimeDirectory: runtime, settings: context.settings))
        } catch {
            // Not fatal: the lease still marks the run, and the next hvctl command reaps it.
            note("could not start this run's reaper unit (\(error)); if hvctl dies, the next hvctl command cleans up after it")
        }
        let lease = try RunLease.take(info, store: context.state)
        defer { lease.finish() }
        return try await body()
    }

    /// Reaps every run that died unfinished (leases nobody holds), telling `note` about each.
    public static func reapDead(_ context: DriverContext, runtimeDirectory: String, note: @Sendable (String) -> Void) async throws {
        for dead in try RunLease.scan(context.state).dead {
            note("run \(dead.info.run) (\(dead.info.command), pid \(dead.info.pid)) died unfinished; removing what it made")
            let report = await Reaper(context: context, runtimeDirectory: runtimeDirectory).reap(dead)
            for problem in report.failures + report.remaining + report.unreachable { note("  not removed yet: \(problem)") }
        }
    }

    /// The run's endpoints go on the reaper's command line, from this process, not from the
    /// lease on disk: the reaper dials only what it was told here or is configured with.
    static func reaperUnit(
        _ run: RunID, owner: ProcessIdentity, store: StateStore, runtimeDirectory: String, settings: DriverSettings = DriverSettings()
    ) -> TransientService {
        var service = TransientService(
            name: Reaper.unitName(run),
            command: [executable, "reap", "--wait", "--owner", owner.description]
                + Drivers.endpoints(settings).sorted { $0.key < $1.key }.flatMap { ["--endpoint", "\($0.key)=\($0.value)"] }
                + [run.value])
        service.description = "hvctl: reaps run \(run) if it dies unfinished"
        service.environment = ["HVCTL_STATE_DIR": store.directory, "HVCTL_RUNTIME_DIR": runtimeDirectory]
        // The same trust as the run's: a state directory its sudo user owns is theirs to use.
        if let sudo = ProcessInfo.processInfo.environment["SUDO_UID"], uid_t(sudo) != nil { service.environment["SUDO_UID"] = sudo }
        service.slice = "hvctl.slice"
        service.syslogIdentifier = "hvctl-reaper"
        service.logExtraFields = ["HVCTL_RUN": run.value]
        service.unlimitedLogRate = false
        return service
    }

    /// This program's own path, for units that run hvctl again.
    static var executable: String { RuntimePaths.executable }
}

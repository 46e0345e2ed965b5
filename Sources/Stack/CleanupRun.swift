import Core
import FoundationEssentials
import Hypervisors
import Systemd

/// `hvctl cleanup [DRIVER]`: the sweep over every run that is not going, then the dead runs
/// settled where each worked (its own endpoints), one line to the journal. The command only
/// parses and shows the report.
public enum CleanupRun {
    /// `driver` nil: every native driver and the host (units, runtime files, dead runs).
    /// `note` gets what is left alone (leases that break the trust rule).
    public static func run(
        driver: String?, settings: DriverSettings, dryRun: Bool, note: @escaping @Sendable (String) -> Void,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> HostCleanup.Report {
        let drivers: [any Hypervisor]
        if let driver {
            let scripts = DriverSession.scriptDrivers(config: try HostConfig.load(environment: environment), environment: environment)
            drivers = [try Drivers.named(driver, scripts: scripts)]
        } else {
            drivers = Drivers.names.compactMap { Drivers.all[$0] }
        }
        let context = try await DriverSession.makeContext(settings: settings, environment: environment)
        let leases = try RunLease.scan(context.state)
        var cleanup = HostCleanup(context: context, drivers: drivers, runtimeDirectory: HostCleanup.runtimeDirectory())
        cleanup.sweepsHost = driver == nil
        var report = await cleanup.run(
            scope: RunLease.cleanupScope(context.state, dead: leases.dead, reaping: leases.reaping), dryRun: dryRun)
        for unsafe in leases.unsafe { note("left alone: \(unsafe) breaks the trust rule (owner or mode); nothing it says is used") }
        for dead in leases.dead {
            // The sweep took their resources on the daemons named here; the reaper looks where
            // each run worked (its own endpoints) and settles the run when nothing is left.
            guard !dryRun && cleanup.sweepsHost else { dead.release(reaped: false); continue }
            let reaped = await Reaper(context: context, runtimeDirectory: cleanup.runtimeDirectory).reap(dead)
            report.reapedRuns += reaped.reapedRuns
            report.failures += reaped.failures
        }
        if !dryRun {
            JournalWriter.send(
                "hvctl cleanup: \(report.removedCount) items removed, \(report.remaining.count) remain",
                fields: ["HVCTL_RUN": context.run.value])
        }
        return report
    }
}

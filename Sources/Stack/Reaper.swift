import Core
import FoundationEssentials
import Hooks
import Hypervisors
import Systemd

/// Removes what a run that died unfinished had made: its units, containers, images and
/// domains (everything carrying its run id), on every driver, and records in the state that
/// the run died. Never touches a run that finished (it has no lease) or one still going (its
/// lease is locked), so its callers — the run's own reaper unit, the next hvctl command, and
/// `hvctl cleanup` — can all run it safely.
public struct Reaper: Sendable {
    public var context: DriverContext
    public var runtimeDirectory: String
    /// The unit this process runs in, if it is a reaper unit.
    public var ownUnit: String?

    public init(context: DriverContext, runtimeDirectory: String, ownUnit: String? = nil) {
        self.context = context
        self.runtimeDirectory = runtimeDirectory
        self.ownUnit = ownUnit
    }

    /// The unit that waits for `run` to end and reaps it if it died.
    public static func unitName(_ run: RunID) -> String { "hvctl-\(run)-reaper.service" }

    /// Reaps `dead` and releases its lease when nothing of it is left.
    ///
    /// `settle`: for a run that has just died. A request it sent right before dying (create a
    /// container, define a domain, start a unit) may still be carried out by the daemon after
    /// a first look, so the reaper looks again after this pause, until a look finds nothing
    /// (at most three more times).
    public func reap(_ dead: DeadRun, settle: Duration? = nil) async -> HostCleanup.Report {
        var context = self.context
        // Its lease is free here, but a run of that id holds its liveness lock elsewhere on
        // the host (a lease copied into this state directory): it is not dead.
        if LiveLock.isHeld(dead.info.run) {
            var report = HostCleanup.Report(dryRun: false, run: dead.info.run)
            report.failures = ["run \(dead.info.run): its lease here is not held, but the run is going on this host; left alone"]
            dead.release(reaped: false)
            return report
        }
        switch KnownEndpoints([context.settings]).resolve(dead.info) {
        case .failure(let problem):
            var report = HostCleanup.Report(dryRun: false, run: dead.info.run)
            report.failures = ["run \(dead.info.run): \(problem.message)"]
            JournalWriter.send(
                "hvctl reaper: run \(dead.info.run) left alone: \(problem.message)", identifier: "hvctl-reaper",
                fields: [RunMarker.runField: dead.info.run])
            dead.release(reaped: false)
            return report
        case .success(let endpoints):
            for (name, endpoint) in endpoints { Drivers.all[name]?.setEndpoint(endpoint, in: &context.settings) }
        }
        let cleanup = HostCleanup(context: context, drivers: Drivers.names.compactMap { Drivers.all[$0] }, ownUnit: ownUnit, runtimeDirectory: runtimeDirectory)
        var report = await cleanup.run(scope: .run(dead.info.run), dryRun: false)
        // Its DevStack shell state (passwords included) goes with it.
        ShellState.removeAll(of: dead.info.run, runtimeDirectory: runtimeDirectory)
        if let settle {
            for _ in 0..<3 {
                try? await Task.sleep(for: settle)
                let again = await cleanup.run(scope: .run(dead.info.run), dryRun: false)
                report.merge(again)
                if again.removedCount == 0 { break }
            }
        }
        // A daemon the run worked on that cannot be reached now (stopped, or still coming up
        // after a reboot) may hold what it made: keep the lease for the next look.
        let blocked = report.drivers.filter { $0.unreachable != nil && (dead.info.drivers ?? Drivers.names).contains($0.driver) }
        let clean = report.failures.isEmpty && report.remaining.isEmpty && blocked.isEmpty
        if clean {
            Self.recordDeath(of: dead.info, in: context.state, detail: "reaped: removed \(report.removedCount) item\(report.removedCount == 1 ? "" : "s")")
            report.reapedRuns = [dead.info.run]
        }
        // The run's end, as the run itself would have written it: a follower (`hvctl logs -f`)
        // stops here. Noted before the lease goes, so whoever sees the lease gone finds it.
        JournalWriter.send(
            "hvctl run \(dead.info.run) ended: it died unfinished (\(dead.info.command))", identifier: "hvctl-reaper",
            fields: [RunMarker.runField: dead.info.run, RunMarker.eventField: RunMarker.end])
        JournalWriter.send(
            "hvctl reaper: run \(dead.info.run) (\(dead.info.command), pid \(dead.info.pid)) died unfinished; "
                + (clean
                    ? "removed \(report.removedCount) items"
                    : "not all removed, the lease stays for the next look: \((report.failures + report.remaining + report.unreachable).joined(separator: "; "))"),
            identifier: "hvctl-reaper", fields: [RunMarker.runField: dead.info.run])
        dead.release(reaped: clean)
        return report
    }

    /// The run's records in the state end as failed, saying it died. A state file that cannot
    /// be read is left as it is (its own error shows up on the next command).
    public static func recordDeath(of info: RunLease.Info, in store: StateStore, detail: String) {
        _ = try? store.update { state in
            guard var runs = state.runs else { return }
            for i in runs.indices where runs[i].ended == nil && (runs[i].id == info.run || runs[i].id.hasPrefix(info.run + "-")) {
                runs[i].ended = Date()
                runs[i].succeeded = false
                runs[i].steps.append(.init(name: "died", ok: false, seconds: 0, detail: "hvctl (pid \(info.pid)) died unfinished; \(detail)"))
            }
            state.runs = runs
        }
    }
}

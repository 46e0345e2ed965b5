import Core
import FoundationEssentials
import Hypervisors
import Systemd

/// `hvctl reap [RUN]`: every run that died unfinished (or only RUN) reaped where it worked;
/// with `owner`, a reaper unit's wait for RUN's end first. The command only parses and shows.
public enum ReapRun {
    /// One dead run and what reaping it did.
    public struct Reaped: Sendable {
        public var info: RunLease.Info
        public var report: HostCleanup.Report
    }

    /// `endpoints`: DRIVER=ENDPOINT pairs a dead run may have used besides the defaults and
    /// hvctl.conf's. `onReaped` hears of each run as it is done. Throws `ReapError.unsettled`
    /// when something of a dead run could not be removed (its lease stays).
    @discardableResult
    public static func run(
        only run: String?, waitingFor owner: ProcessIdentity?, endpoints: [(driver: String, endpoint: String)],
        note: @escaping @Sendable (String) -> Void, onReaped: (Reaped) -> Void = { _ in }
    ) async throws -> [Reaped] {
        let store = StateStore.fromEnvironment()
        // Leases are read from here: another user's directory is refused before any is.
        try store.checkTrusted()
        let runtime = HostCleanup.runtimeDirectory()
        var dead: [DeadRun]
        if let run, let owner {
            // Connect only once there is work: a connection held through hours of waiting
            // could be gone (dbus restarted) by then.
            guard let died = await RunLease.awaitEnd(of: run, owner: owner, store: store) else { return [] }
            dead = [died]
        } else {
            let leases = try RunLease.scan(store)
            for unsafe in leases.unsafe { note("left alone: \(unsafe) breaks the trust rule (owner or mode); nothing it says is used") }
            if let run, let live = leases.live.first(where: { $0.run == run }) {
                throw ReapError.stillGoing(live)
            }
            dead = leases.dead.filter { run == nil || $0.info.run == run }
            for other in leases.dead where !dead.contains(where: { $0 === other }) { other.release(reaped: false) }
        }
        // The endpoints a lease may name: the defaults, hvctl.conf's when it reads (a broken
        // one must not stop a reaper) and the given ones.
        var settings = DriverSettings()
        (try? HostConfig.load())?.apply(to: &settings)
        for (driver, endpoint) in endpoints { Drivers.all[driver]?.setEndpoint(endpoint, in: &settings) }
        let context = DriverContext(systemd: try await SystemdManager.connect(), state: store, run: .generate(), settings: settings)
        var reaped: [Reaped] = []
        for d in dead {
            let ownUnit = owner != nil ? RunID(d.info.run).map(Reaper.unitName) : nil
            let report = await Reaper(context: context, runtimeDirectory: runtime, ownUnit: ownUnit).reap(d, settle: owner != nil ? .seconds(1) : nil)
            reaped.append(Reaped(info: d.info, report: report))
            onReaped(reaped[reaped.count - 1])
        }
        let unsettled = reaped.filter { $0.report.reapedRuns.isEmpty }
        if !unsettled.isEmpty {
            throw ReapError.unsettled(unsettled.map { "run \($0.info.run): " + ($0.report.failures + $0.report.remaining + $0.report.unreachable).joined(separator: "; ") })
        }
        return reaped
    }
}

public enum ReapError: Error, CustomStringConvertible {
    case stillGoing(RunLease.Info)
    case unsettled([String])

    public var description: String {
        switch self {
        case .stillGoing(let info):
            return "run \(info.run) is still going (\(info.command), pid \(info.pid)); it is reaped only if it dies unfinished"
        case .unsettled(let lines):
            return "not everything of the dead runs could be removed; their leases stay for the next try: \(lines.joined(separator: " | "))"
        }
    }
}

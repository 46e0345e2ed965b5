import Hypervisors
import Systemd

/// hvctl's transient units (`hvctl-<run>-….service` in hvctl.slice: hooks, apt, reapers)
/// that are still running or stayed loaded as failed: stopped, then reset.
public struct UnitCleanup: Sendable {
    public var systemd: SystemdManager
    /// The unit this process runs in (a reaper), which must not stop itself.
    public var ownUnit: String?

    public init(systemd: SystemdManager, ownUnit: String? = nil) {
        self.systemd = systemd
        self.ownUnit = ownUnit
    }

    public struct Report: Sendable, Equatable, Codable {
        public var removed: [String] = []
        public var spared: [String] = []
        public var failed: [String] = []
    }

    /// The run id in an hvctl unit name, or nil for a name hvctl does not make.
    public static func run(ofUnit name: String) -> String? {
        guard name.hasPrefix("hvctl-") else { return nil }
        let body = name.dropFirst(6)
        guard let dash = body.firstIndex(of: "-") else { return nil }
        return RunID(String(body[..<dash]))?.value
    }

    public func run(scope: CleanupScope, dryRun: Bool) async throws -> Report {
        var report = Report()
        var targets: [UnitState] = []
        for unit in try await systemd.listUnits(matching: ["hvctl-*.service"]) where unit.name != ownUnit {
            guard let run = Self.run(ofUnit: unit.name), try await systemd.isTransient(unit.name) else { continue }
            if scope.includes(run: run) {
                targets.append(unit)
            } else if scope.run == nil {
                report.spared.append("unit \(unit.name) (run \(run) is still going)")
            }
        }
        report.removed = targets.map(\.name)
        if dryRun || targets.isEmpty { return report }
        let running = targets.filter { $0.activeState != "inactive" && $0.activeState != "failed" }.map(\.name)
        for job in try await systemd.stop(units: running, timeout: .seconds(100)) where !job.succeeded {
            report.failed.append("stopping \(job.unit) ended '\(job.result)'")
        }
        for unit in targets { try await systemd.resetFailed(unit.name) }
        report.removed.removeAll { name in report.failed.contains { $0.contains(name) } }
        return report
    }
}

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

    static let slice = "hvctl.slice"
    static let aptSuffix = "-apt-install.service"

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
            // hvctl's: its name, made over D-Bus, and in hvctl's slice — a unit of someone
            // else's that merely looks like one (`systemd-run --unit hvctl-build-1`) is not.
            guard let run = Self.run(ofUnit: unit.name), try await systemd.isTransient(unit.name),
                try await systemd.slice(of: unit.name) == Self.slice
            else { continue }
            if scope.includes(run: run) {
                targets.append(unit)
            } else if scope.spares(run: run) {
                report.spared.append("unit \(unit.name) (run \(run) is still going)")
            }
        }
        report.removed = targets.map(\.name)
        if dryRun || targets.isEmpty { return report }
        var running = targets.filter { $0.activeState != "inactive" && $0.activeState != "failed" }.map(\.name)
        // apt killed halfway leaves dpkg needing repair: an install runs to its own end.
        let installs = running.filter { $0.hasSuffix(Self.aptSuffix) }
        running.removeAll { $0.hasSuffix(Self.aptSuffix) }
        var failed = Set(installs)
        report.spared += installs.map { "unit \($0) (apt is still installing; it is left to finish)" }
        for job in try await systemd.stop(units: running, timeout: .seconds(100)) where !job.succeeded {
            report.failed.append("stopping \(job.unit) ended '\(job.result)'")
            failed.insert(job.unit)
        }
        for unit in targets where !installs.contains(unit.name) { try await systemd.resetFailed(unit.name) }
        report.removed.removeAll { failed.contains($0) }
        return report
    }
}

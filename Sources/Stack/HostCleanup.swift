import Core
import FoundationEssentials
import Glibc
import Hypervisors
import Systemd

/// Everything hvctl made on this host, within a scope: each driver's marked resources,
/// hvctl's transient units and stale runtime files — all at the same time, each as fast as
/// its daemon allows. `hvctl cleanup` runs it over every run that is not still going; the
/// reaper over one run that died.
public struct HostCleanup: Sendable {
    public var context: DriverContext
    public var drivers: [any Hypervisor]
    public var units: UnitCleanup
    /// hvctl's runtime directory (/run/hvctl, or $HVCTL_RUNTIME_DIR).
    public var runtimeDirectory: String
    /// Also hvctl's units and runtime files; false when only the drivers are asked for.
    public var sweepsHost = true

    public init(context: DriverContext, drivers: [any Hypervisor], ownUnit: String? = nil, runtimeDirectory: String) {
        self.context = context
        self.drivers = drivers
        self.units = UnitCleanup(systemd: context.systemd, ownUnit: ownUnit)
        self.runtimeDirectory = runtimeDirectory
    }

    public struct Report: Sendable, Codable {
        public var dryRun: Bool
        /// The run cleaned up (a reaper), or nil for every run.
        public var run: String?
        public var drivers: [CleanupReport] = []
        public var units = UnitCleanup.Report()
        public var files: [String] = []
        /// What could not be done, one line each ("docker: …").
        public var failures: [String] = []
        /// Runs that had died unfinished and whose leases were released.
        public var reapedRuns: [String] = []

        /// Folds a later pass over the same scope into this one: what either removed, what
        /// the later one still found.
        public mutating func merge(_ later: Report) {
            for r in later.drivers {
                guard let i = drivers.firstIndex(where: { $0.driver == r.driver }) else { drivers.append(r); continue }
                var merged = r
                merged.removed = drivers[i].removed.merging(r.removed) { $0 + $1 }
                merged.killSeconds += drivers[i].killSeconds
                merged.removeSeconds += drivers[i].removeSeconds
                drivers[i] = merged
            }
            units.removed += later.units.removed
            units.spared = later.units.spared
            units.failed = later.units.failed
            files += later.files
            failures = later.failures
        }

        public var unreachable: [String] { drivers.compactMap { r in r.unreachable.map { "\(r.driver): \($0)" } } }
        public var removedCount: Int { drivers.reduce(0) { $0 + $1.count } + units.removed.count + files.count }
        /// Marked things still there: kept, spared for a live run, or that failed to go.
        public var remaining: [String] {
            drivers.flatMap { r in r.kept.map { "\(r.driver): image \($0) (containers hvctl did not create use it)" } + r.spared.map { "\(r.driver): \($0)" } }
                + units.spared + units.failed
        }
    }

    public func run(scope: CleanupScope, dryRun: Bool) async -> Report {
        var report = Report(dryRun: dryRun, run: scope.run)
        enum Part: Sendable {
            case driver(CleanupReport)
            case units(UnitCleanup.Report)
            case failure(String)
        }
        let context = self.context
        let units = self.units
        await withTaskGroup(of: Part.self) { group in
            for driver in drivers {
                group.addTask {
                    do {
                        return .driver(try await driver.cleanup(context, dryRun: dryRun, scope: scope))
                    } catch {
                        return .failure("\(driver.name): \(error)")
                    }
                }
            }
            if sweepsHost {
                group.addTask {
                    do {
                        return .units(try await units.run(scope: scope, dryRun: dryRun))
                    } catch {
                        return .failure("units: \(error)")
                    }
                }
            }
            for await part in group {
                switch part {
                case .driver(let r):
                    report.drivers.append(r)
                    report.failures += r.failures.map { "\(r.driver): \($0)" }
                case .units(let r): report.units = r
                case .failure(let f): report.failures.append(f)
                }
            }
        }
        report.drivers.sort { $0.driver < $1.driver }
        if sweepsHost && scope.run == nil { report.files = staleFiles(removing: !dryRun, anyRunLive: scope.anyLive) }
        return report
    }

    /// Files a killed hvctl can leave, and only those: temp files of an interrupted atomic
    /// write of hvctl's own files (`.state.json.<pid>.tmp`, `.<run>.lease.<pid>.tmp`, …),
    /// stale once that pid is gone, and, when no run is going, the DevStack functions file
    /// hooks source, and the host-wide liveness files of runs that are over. The lock file stays: removing a lock file someone may be waiting on
    /// would let two holders in.
    func staleFiles(removing: Bool, anyRunLive: @Sendable () -> Bool) -> [String] {
        let ours = try! Regex(#"^\.(state\.json|devstack-functions\.sh|fake-instances\.json|[a-z0-9_]{1,32}\.lease)\.([0-9]+)\.tmp$"#)
        var stale: [String] = []
        for dir in [runtimeDirectory, context.state.directory, RunLease.directory(context.state)] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                guard let match = try? ours.wholeMatch(in: name), let pid = match.output[2].substring.flatMap({ Int32($0) }) else { continue }
                if kill(pid, 0) == 0 || errno == EPERM { continue }
                stale.append(dir + "/" + name)
            }
        }
        let functions = RuntimePaths.functionsFile(["HVCTL_RUNTIME_DIR": runtimeDirectory])
        if FileManager.default.fileExists(atPath: functions) && !anyRunLive() { stale.append(functions) }
        // Liveness files of runs that are over, host-wide (a killed run cannot remove its own).
        stale += LiveLock.stale()
        if removing { stale = stale.filter { unlink($0) == 0 || errno == ENOENT } }
        return stale
    }

    /// $HVCTL_RUNTIME_DIR, else /run/hvctl (RuntimePaths, the one place that says).
    public static func runtimeDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        RuntimePaths.directory(environment)
    }
}

import Core
import FoundationEssentials
import Glibc
import Systemd
import SystemPackage

/// The libvirt driver: libvirtd through systemd (its units) and libvirt's C API (everything
/// else). Never virsh.
///
/// libvirtd is socket-activated (libvirtd.socket, -ro, -admin): a connection to a system URI
/// starts it. So a daemon that may be stopped is looked at through its units first.
public struct LibvirtDriver: Hypervisor {
    public let name = "libvirt"
    public let computeDriver = "libvirt.LibvirtDriver"
    static let daemon = SystemdDaemon(
        driver: "libvirt", service: "libvirtd.service", sockets: ["libvirtd.socket", "libvirtd-ro.socket", "libvirtd-admin.socket"],
        packages: ["libvirt-daemon-system", "qemu-system-x86"])
    static let qemu = "/usr/bin/qemu-system-x86_64"

    public init() {}

    /// A system URI is served by libvirtd on this host; test:///, session and remote ones are not.
    /// Whatever its spelling (`QEMU:///system/`, `qemu+unix:///system`): a connection to any
    /// of them would wake a stopped libvirtd through its socket.
    static func usesLocalDaemon(_ uri: String) -> Bool {
        LibvirtURI(uri).isLocalSystem
    }

    // MARK: the five verbs

    public func install(_ context: DriverContext) async throws {
        let known = try await Self.daemon.isInstalled(context)
        if known && FileManager.default.isExecutableFile(atPath: Self.qemu) { return }
        guard context.settings.installPackages else {
            throw HypervisorError.notInstalled(driver: name, install: Self.daemon.installHint)
        }
        context.progress("installing libvirt-daemon-system and qemu-system-x86 with apt (a transient unit; output in its journal)")
        try await PackageInstaller.install(["libvirt-daemon-system", "qemu-system-x86"], context)
    }

    /// Picks the domain type as DevStack did: kvm when /dev/kvm is usable, else qemu —
    /// unless hvctl.conf's `[libvirt] virt_type` names one.
    public func configure(_ context: DriverContext) async throws {
        let fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        let type: String
        if let configured = context.settings.libvirtVirtType {
            if fd >= 0 { close(fd) }
            type = configured
        } else if fd >= 0 {
            close(fd)
            type = "kvm"
        } else {
            type = "qemu"
            context.progress("WARNING: Switching to QEMU: /dev/kvm is not usable (\(Errno.current.description)); domains will be emulated, slowly")
        }
        var ini = try IniFile.load(context.settings.computeConfig)
        ini.set("DEFAULT", "compute_driver", computeDriver)
        ini.set("libvirt", "virt_type", type)
        try ini.write(to: context.settings.computeConfig)
        try context.state.update {
            $0[driver: name].domainType = type
            $0[driver: name].configured = true
        }
    }

    public func start(_ context: DriverContext) async throws -> StartResult {
        let uri = context.settings.libvirtURI
        guard Self.usesLocalDaemon(uri) else {
            _ = try await connect(context)  // nothing to start; the URI must answer
            return .alreadyRunning
        }
        let before = try await Self.daemon.installed(context)
        if before.isActive {
            do {
                _ = try await connect(context)
                return .alreadyRunning
            } catch HypervisorError.timedOut(let what, let after) {
                // Up but not answering: starting it again changes nothing, and waiting out
                // the start timeout would hold the host lock for nothing.
                throw HypervisorError.timedOut("libvirtd.service is active, but \(what)", after: after)
            } catch {
                // Active but not yet listening, say: start it, and wait for it below.
            }
        }
        let seconds = try await Self.daemon.start(context, wasUp: before.isActive, waitingFor: "\(uri) connects") {
            (try? await connect(context)) != nil
        }
        return .started(seconds: seconds)
    }

    public func stop(_ context: DriverContext, force: Bool) async throws -> StopResult {
        let uri = context.settings.libvirtURI
        let local = Self.usesLocalDaemon(uri)
        if local, try await !Self.daemon.unit(context).isActive { return try await Self.daemon.stopWhileDown(context, force: force) }
        let connection = try await connect(context)
        let running = try await marked(connection, context).owned.filter { $0.domain.state == .running || $0.domain.state == .paused }
        // ACPI first; what is still running after the grace period is destroyed.
        let grace = context.settings.stopGrace
        try await bounded("stopping \(running.count) domains", context, extra: grace + .seconds(running.count)) {
            for d in running { try? await connection.shutdown(d.domain.uuid, byUUID: true) }
            let deadline = ContinuousClock.now.advanced(by: grace)
            var remaining = running.map(\.domain.uuid)
            while !remaining.isEmpty && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                var still: [String] = []
                for n in remaining where (try? await connection.domain(uuid: n).state) == .running { still.append(n) }
                remaining = still
            }
            for uuid in remaining {
                let name = running.first { $0.domain.uuid == uuid }?.domain.name ?? uuid
                context.progress("\(name) did not shut down within \(grace.formattedSeconds); destroying it")
                try? await connection.destroy(uuid, byUUID: true)
            }
        }
        // A remote or session URI has no daemon of this host's to stop.
        guard local else { return StopResult(stoppedInstances: running.count, stoppedDaemon: false, note: nil) }
        return try await Self.daemon.finishStop(context, force: force, stoppedInstances: running.count)
    }

    public func cleanup(_ context: DriverContext, dryRun: Bool, scope: CleanupScope) async throws -> CleanupReport {
        if Self.usesLocalDaemon(context.settings.libvirtURI),
            let idle = try await Self.daemon.unlessRunning(context, dryRun: dryRun)
        {
            return idle
        }
        var report = CleanupReport(driver: name, dryRun: dryRun)
        let connection: LibvirtConnection
        let found: Found
        do {
            connection = try await connect(context)
            found = try await marked(connection, context)
        } catch {
            // Not connecting, or connected and not answering (frozen): nothing could be
            // looked at, which `--ignore-unreachable` accepts, as for a stopped daemon.
            report.unreachable = "\(context.settings.libvirtURI) does not answer: \(error)"
            return report
        }
        let targets = found.owned.filter { scope.includes(run: $0.run) }.map(\.domain)
        report.spared = found.owned.filter { scope.spares(run: $0.run) }.map { "domain \($0.domain.name) (run \($0.run ?? "?") is still going)" }
        // A domain whose mark cannot be read may be hvctl's: it stays, and the cleanup fails.
        report.failures = found.unreadable
        if !targets.isEmpty { report.removed["domain"] = targets.map(\.name) }
        let remaining = found.uuids.filter { uuid in !targets.contains { $0.uuid == uuid } }
        if dryRun {
            report.unmarked["domain"] = found.all - found.owned.count
            try await cleanupLeftovers(connection, context, scope, remaining: remaining, dryRun: true, report: &report)
            return report
        }
        let clock = ContinuousClock()
        // One connection serves one call at a time (its actor's thread), so fan out over a
        // few connections: destroying a QEMU domain waits for the process to die. By UUID,
        // the one on record: a domain renamed or re-created since is not taken for it.
        let width = min(16, targets.count)
        let uri = context.settings.libvirtURI
        // Each destroy may wait for a QEMU to die; the whole fan-out still has a bound.
        let times = try await bounded("removing \(targets.count) domains", context, extra: .seconds(2 * targets.count)) {
            var pool: [LibvirtConnection] = [connection]
            for _ in 1..<max(1, width) { pool.append(try await LibvirtConnection.open(uri)) }
            let pooled = pool
            let killStart = clock.now
            try await parallel(Array(targets.filter { $0.state != .shutOff }.enumerated()), width: width) { item in
                do {
                    try await pooled[item.offset % pooled.count].destroy(item.element.uuid, byUUID: true)
                } catch LibvirtError.noSuchDomain {
                }
            }
            let killed = clock.now
            try await parallel(Array(targets.enumerated()), width: width) { item in
                do {
                    try await pooled[item.offset % pooled.count].undefine(item.element.uuid, byUUID: true)
                } catch LibvirtError.noSuchDomain {
                }
            }
            return ((killed - killStart).inSeconds, (clock.now - killed).inSeconds)
        }
        report.killSeconds = times.0
        report.removeSeconds = times.1
        try context.state.forget(driver: name, kind: "domain", ids: targets.map(\.uuid))
        let directory = GuestDirectory(root: context.settings.libvirtGuestDirectory)
        let driverName = name
        try await bounded("removing \(targets.count) overlays", context, extra: .seconds(targets.count)) {
            for t in targets {
                await GuestPool.removeOverlay(domain: t.uuid, connection, directory, context, driver: driverName)
                ConsoleLog(directory: directory.console, uuid: t.uuid).remove()
            }
        }
        if scope.run == nil && found.unreadable.isEmpty {
            // Records whose domain is gone (undefined by hand, or never defined) go too,
            // except those of runs still going. Networks have records of their own.
            let present = Set(found.uuids)
            try context.state.prune(driver: name) { r in
                if r.kind != "domain" { return true }
                if let run = r.run, scope.isLive(run) { return true }
                return r.id.map(present.contains) ?? false
            }
        }
        try await cleanupLeftovers(connection, context, scope, remaining: remaining, dryRun: false, report: &report)
        return report
    }

    public func status(_ context: DriverContext) async throws -> DriverStatus {
        let state = try context.state.load()[driver: name]
        let uri = context.settings.libvirtURI
        if Self.usesLocalDaemon(uri), let down = try await Self.daemon.statusUnlessRunning(context, configured: state.configured) {
            return down
        }
        let connection = try await connect(context)
        let hv = try await bounded("reading its version", context) { try await connection.hypervisor() }
        let count = try await marked(connection, context).owned.count
        return DriverStatus(
            driver: name, installed: true, configured: state.configured, running: true,
            version: "\(hv.type) \(hv.version)", instances: count,
            detail: "\(uri); domain type \(state.domainType ?? "not configured")")
    }

    // MARK: plumbing

    static func detectType() -> String {
        let fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        if fd >= 0 { close(fd); return "kvm" }
        return "qemu"
    }

    /// Every call into libvirt goes through here or `bounded`: its calls block, and a frozen
    /// daemon would never answer.
    func connect(_ context: DriverContext) async throws -> LibvirtConnection {
        let uri = context.settings.libvirtURI
        return try await bounded("connecting to \(uri)", context) { try await LibvirtConnection.open(uri) }
    }

    /// `body` within `libvirtTimeout` (+ `extra`), or `HypervisorError.timedOut`.
    func bounded<T: Sendable>(
        _ what: String, _ context: DriverContext, extra: Duration = .zero, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let limit = context.settings.libvirtTimeout + extra
        do {
            return try await withDeadline(limit, what, body)
        } catch is DeadlineExceeded {
            throw HypervisorError.timedOut("libvirt at \(context.settings.libvirtURI) did not answer \(what) (frozen, or stuck on a QEMU?)", after: limit)
        }
    }

    /// A connection, but only if libvirtd already runs: never wake it through its socket.
    func runningConnection(_ context: DriverContext) async throws -> LibvirtConnection {
        if Self.usesLocalDaemon(context.settings.libvirtURI) { try await Self.daemon.requireRunning(context) }
        return try await connect(context)
    }

    /// What a look at every domain found: those carrying hvctl's mark that are on record
    /// (with the run that made each), and the domains whose mark could not be read.
    struct Found {
        var owned: [(domain: Domain, run: String?, mark: String)] = []
        var unreadable: [String] = []
        var uuids: [String] = []
        var all: Int { uuids.count }
    }

    /// Domains carrying hvctl's mark AND on record by UUID: a domain defined from an
    /// instance's XML under another name keeps the mark, and it is not hvctl's.
    func marked(_ connection: LibvirtConnection, _ context: DriverContext) async throws -> Found {
        let records = try context.state.load().owned(by: name)
        let name = self.name
        return try await bounded("listing domains", context) { try await Self.find(connection, records, driver: name) }
    }

    private static func find(_ connection: LibvirtConnection, _ records: OwnedResources, driver name: String) async throws -> Found {
        var found = Found()
        for d in try await connection.domains() {
            let mark: String?
            do {
                mark = try await connection.metadata(of: d.uuid, namespace: DomainMark.namespace, byUUID: true)
            } catch LibvirtError.noSuchDomain {
                continue  // undefined meanwhile
            } catch {
                found.uuids.append(d.uuid)
                found.unreadable.append("domain \(d.name): its mark cannot be read (\(error)); it is left, and may be hvctl's")
                continue
            }
            found.uuids.append(d.uuid)
            guard let mark else { continue }
            let run = DomainMark.run(in: mark)
            if records.owns(kind: "domain", id: d.uuid, name: d.name, run: run) { found.owned.append((d, run, mark)) }
        }
        return found
    }

    func isOwned(_ domain: Domain, _ connection: LibvirtConnection, _ context: DriverContext) async throws -> Bool {
        guard let mark = try await connection.metadata(of: domain.uuid, namespace: DomainMark.namespace, byUUID: true) else { return false }
        return try context.state.load().owned(by: name).owns(kind: "domain", id: domain.uuid, name: domain.name, run: DomainMark.run(in: mark))
    }
}

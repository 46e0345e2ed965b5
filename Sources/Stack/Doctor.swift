import Core
import DevStack
import FoundationEssentials
import Glibc
import Hypervisors
import Systemd
import SystemPackage

/// Checks each thing hvctl relies on, without changing or starting anything.
///
/// Each driver checks itself (`Hypervisor.doctor`): Docker and libvirtd are socket-activated
/// on Debian, so their units are looked at over D-Bus first, and a socket is touched only
/// when its service is already running.
public struct Doctor: Sendable {
    public typealias Check = DoctorReport.Check

    public var driver: DriverSelection
    public var transport: BusTransport = .automatic
    /// The drivers' settings: their endpoints.
    public var settings = DriverSettings()
    public var kvmDevice = "/dev/kvm"
    /// The longest any one check may take; a hung daemon is reported, not waited for.
    public var checkTimeout: Duration = .seconds(10)
    /// DevStack mode: what DevStack's own code needs at source time.
    public var devstack: DevStackTree?

    public init(driver: DriverSelection) {
        self.driver = driver
    }

    public func run() async -> DoctorReport {
        let (systemdCheck, manager) = await checkSystemd()
        var checks = [systemdCheck, await checkJournal(manager)]
        let context = DoctorContext(systemd: manager, settings: settings, timeout: checkTimeout)
        for name in Drivers.names {
            guard let driver = Drivers.all[name] else { continue }
            let found = await driver.doctor(context)
            checks.append(check(name, found.status, found.detail, fix: found.fix))
        }
        checks.append(checkKVM())
        checks += devstack.map { [checkDevStack($0)] } ?? []
        return DoctorReport(driver: driver.name, driverSource: driver.source, checks: checks)
    }

    private func needed(_ name: String) -> Bool {
        switch name {
        case "systemd", "journal", "devstack": return true
        default: return name == driver.name
        }
    }

    private func check(_ name: String, _ status: Check.Status, _ detail: String, fix: String? = nil) -> Check {
        Check(name: name, status: status, detail: detail, fix: fix, required: needed(name))
    }

    private func skippedWithoutSystemd(_ name: String) -> Check {
        check(name, .skipped, DriverCheck.withoutSystemd.detail)
    }

    // MARK: the checks

    /// stackrc makes STACK_USER `stack` for root, and DevStack runs `id -gn $STACK_USER` and
    /// `sudo` while its files are sourced; merge_config_group needs GNU awk.
    func checkDevStack(_ tree: DevStackTree) -> Check {
        let user = tree.stackUser
        var missing: [String] = []
        var fixes: [String] = []
        if getpwnam(user) == nil {
            missing.append("STACK_USER \(user) does not exist")
            fixes.append("useradd --system --shell /usr/sbin/nologin \(user)")
        }
        if access("/usr/bin/sudo", X_OK) != 0 {
            missing.append("sudo is not installed")
            fixes.append("apt-get install sudo")
        }
        if access("/usr/bin/gawk", X_OK) != 0 {
            missing.append("gawk is not installed (local.conf's meta sections need it)")
            fixes.append("apt-get install gawk")
        }
        guard missing.isEmpty else {
            return check("devstack", .fail, "DevStack checkout \(tree.topDir): " + missing.joined(separator: "; "), fix: fixes.joined(separator: " && "))
        }
        return check("devstack", .ok, "DevStack checkout \(tree.topDir); STACK_USER \(user) exists; sudo and gawk are installed")
    }

    private func checkSystemd() async -> (Check, SystemdManager?) {
        do {
            let transport = self.transport
            let manager = try await withDeadline(checkTimeout, "systemd") {
                try await SystemdManager.connect(transport, callTimeout: .seconds(5))
            }
            let version = try await manager.version()
            return (check("systemd", .ok, "systemd \(version) via \(await manager.connectedVia)"), manager)
        } catch {
            return (
                check(
                    "systemd", .fail, "\(error)",
                    fix: "on a machine whose PID 1 is not systemd, `make run` boots a test host and runs hvctl there"),
                nil
            )
        }
    }

    private func checkJournal(_ manager: SystemdManager?) async -> Check {
        guard let manager else { return skippedWithoutSystemd("journal") }
        do {
            let journald = try await manager.unit("systemd-journald.service")
            guard journald.isActive else {
                return check(
                    "journal", .fail, "systemd-journald.service is \(journald.activeState): hook output would not be kept",
                    fix: "systemctl start systemd-journald.service")
            }
            let newest = try await withDeadline(checkTimeout, "the journal") { () async throws -> JournalEntry? in
                let reader = try await JournalReader.open()
                try await reader.seekTail()
                return try await reader.previous()
            }
            guard let newest else {
                return check("journal", .warn, "journald runs but this process sees no entries", fix: "run hvctl as root")
            }
            let when = Date(timeIntervalSince1970: Double(newest.realtimeMicroseconds) / 1e6)
            return check("journal", .ok, "readable; newest entry \(Self.timestamp(when))")
        } catch {
            return check("journal", .fail, "\(error)", fix: "run hvctl as root so it may read the system journal")
        }
    }

    private func checkKVM() -> Check {
        let fd = open(kvmDevice, O_RDWR | O_CLOEXEC)
        if fd >= 0 {
            close(fd)
            return check("kvm", .ok, "\(kvmDevice) is usable: domains can use hardware virtualization")
        }
        let reason = Errno.current.description
        return check(
            "kvm", .warn, "\(kvmDevice) is not usable (\(reason)): libvirt domains will run under QEMU emulation, which is slow",
            fix: "enable virtualization (or nested virtualization) for this machine")
    }

    /// Local time, "yyyy-MM-dd HH:mm:ss": strftime's, not ICU's, whose data alone would
    /// triple hvctl's size.
    private static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var local = tm()
        tzset()
        guard localtime_r(&seconds, &local) != nil else { return "\(date)" }
        var text = [CChar](repeating: 0, count: 32)
        let length = strftime(&text, text.count, "%Y-%m-%d %H:%M:%S", &local)
        return String(decoding: text.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

import Core
import DevStack
import Foundation
import Hypervisors
import Systemd

/// Checks each thing hvctl relies on, without changing or starting anything.
///
/// Docker and libvirtd are socket-activated on Debian: connecting to `/run/docker.sock` or
/// libvirt's socket starts the daemon. So the daemons' units are looked at over D-Bus first,
/// and a socket is touched only when its service is already running.
public struct Doctor: Sendable {
    public typealias Check = DoctorReport.Check

    public var driver: DriverSelection
    public var transport: BusTransport = .automatic
    public var dockerSocket = EngineClient.defaultSocket
    public var libvirtURI = "qemu:///system"
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
        let checks = [
            systemdCheck,
            await checkJournal(manager),
            await checkDocker(manager),
            await checkLibvirt(manager),
            checkKVM(),
        ] + (devstack.map { [checkDevStack($0)] } ?? [])
        return DoctorReport(driver: driver.name, driverSource: driver.source, checks: checks)
    }

    private func needed(_ name: String) -> Bool {
        switch name {
        case "systemd", "journal", "devstack": return true
        case "docker": return driver.name == "docker"
        case "libvirt": return driver.name == "libvirt"
        default: return false
        }
    }

    private func check(_ name: String, _ status: Check.Status, _ detail: String, fix: String? = nil) -> Check {
        Check(name: name, status: status, detail: detail, fix: fix, required: needed(name))
    }

    private func skippedWithoutSystemd(_ name: String) -> Check {
        check(name, .skipped, "not checked: systemd is not reachable, and without it hvctl cannot look at a daemon without possibly starting it")
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

    private func checkDocker(_ manager: SystemdManager?) async -> Check {
        guard let manager else { return skippedWithoutSystemd("docker") }
        do {
            let service = try await manager.unit("docker.service")
            guard service.isKnown else {
                return check("docker", .fail, "docker.service is not installed (\(service.loadState))", fix: "apt-get install docker.io")
            }
            guard service.isActive else {
                return try await stoppedDaemon(
                    "docker", service: service, socketUnits: ["docker.socket"], manager: manager,
                    start: "systemctl start docker.service")
            }
            let socket = dockerSocket
            let (client, version) = try await withDeadline(checkTimeout, "the Docker daemon") {
                let client = try await EngineClient.connect(socketPath: socket, timeout: .seconds(5))
                return (client, try await client.version())
            }
            return check("docker", .ok, "Docker Engine \(version.Version), API \(client.apiVersion) on \(socket)")
        } catch {
            return check("docker", .fail, "\(error)", fix: "look at `journalctl -u docker.service`")
        }
    }

    private func checkLibvirt(_ manager: SystemdManager?) async -> Check {
        // A local system URI is served by libvirtd; test:///, session and remote URIs are not.
        let daemonURI = LibvirtURI(libvirtURI).isLocalSystem  // any spelling of it could wake libvirtd
        if daemonURI {
            guard let manager else { return skippedWithoutSystemd("libvirt") }
            do {
                let service = try await manager.unit("libvirtd.service")
                guard service.isKnown else {
                    return check(
                        "libvirt", .fail, "libvirtd.service is not installed (\(service.loadState))",
                        fix: "apt-get install libvirt-daemon-system qemu-system-x86")
                }
                guard service.isActive else {
                    return try await stoppedDaemon(
                        "libvirt", service: service,
                        socketUnits: ["libvirtd.socket", "libvirtd-ro.socket", "libvirtd-admin.socket"],
                        manager: manager, start: "systemctl start libvirtd.service")
                }
            } catch {
                return check("libvirt", .fail, "\(error)")
            }
        }
        do {
            let uri = libvirtURI
            let (library, hypervisor) = try await withDeadline(checkTimeout, "libvirt at \(uri)") {
                let connection = try await LibvirtConnection.open(uri, readOnly: true)
                return (try await connection.libraryVersion(), try await connection.hypervisor())
            }
            return check("libvirt", .ok, "libvirt \(library), \(hypervisor.type) \(hypervisor.version) at \(uri)")
        } catch {
            return check("libvirt", .fail, "\(error)", fix: "look at `journalctl -u libvirtd.service`")
        }
    }

    /// A daemon whose service is not running: fine if a listening socket would start it (it
    /// is not probed, since probing would start it), a failure otherwise.
    private func stoppedDaemon(
        _ name: String, service: UnitState, socketUnits: [String], manager: SystemdManager, start: String
    ) async throws -> Check {
        for socketUnit in socketUnits.prefix(1) {
            let socket = try await manager.unit(socketUnit)
            if socket.isActive {
                return check(
                    name, .warn,
                    "\(service.name) is stopped; \(socketUnit) is listening and would start it on the first connection (not probed, so nothing was started)",
                    fix: start)
            }
        }
        return check(name, .fail, "\(service.name) is \(service.activeState) and nothing would start it", fix: start)
    }

    private func checkKVM() -> Check {
        let fd = open(kvmDevice, O_RDWR | O_CLOEXEC)
        if fd >= 0 {
            close(fd)
            return check("kvm", .ok, "\(kvmDevice) is usable: domains can use hardware virtualization")
        }
        let reason = String(cString: strerror(errno))
        return check(
            "kvm", .warn, "\(kvmDevice) is not usable (\(reason)): libvirt domains will run under QEMU emulation, which is slow",
            fix: "enable virtualization (or nested virtualization) for this machine")
    }

    private static func timestamp(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: date)
    }
}

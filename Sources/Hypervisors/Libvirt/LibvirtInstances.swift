import CLibvirt
import Core
import FoundationEssentials
import Glibc
import PinnedThread

/// libvirt instances: VMs that boot. hvctl's default guest is the host's kernel (or one from
/// hvctl's cache) with an initramfs hvctl builds; `--kernel` boots another directly.
///
/// Ready means: for hvctl's guest, its `hvctl-guest: ready` line on the serial console (its
/// init ran); for any other guest, a `login:` prompt on the serial console or an address
/// leased from a libvirt network, whichever comes first.
extension LibvirtDriver {
    static let defaultMemoryMiB = 128

    public func launch(_ request: InstanceRequest, _ context: DriverContext) async throws -> Instance {
        let instance = request.name
        try InstanceName.validate(instance)
        guard request.command.isEmpty else {
            throw HypervisorError.notSupported("libvirt instances are VMs and take no command after --; their init runs (use --cmdline for the kernel's)")
        }
        let memory = request.memoryMiB ?? Self.defaultMemoryMiB
        guard (16...1_048_576).contains(memory) else { throw HypervisorError.badRequest("--memory takes MiB from 16 to 1048576") }
        let vcpus = request.vcpus ?? 1
        guard (1...256).contains(vcpus) else { throw HypervisorError.badRequest("--vcpus takes 1 to 256") }
        let directory = GuestDirectory(root: context.settings.libvirtGuestDirectory)
        try directory.prepare()
        let base = try request.image.map { try DiskImage.inspect($0, trust: context.settings.trust) }
        let connection = try await runningConnection(context)
        let name = self.name
        let type = try context.settings.libvirtVirtType ?? context.state.load()[driver: name].domainType ?? Self.detectType()
        let label = try await bounded("reading libvirt's capabilities", context) {
            GuestDomain.qemuLabel(capabilities: try await connection.capabilities(), type: type)
        }
        let qemu = QemuAccess(label: label)
        if let base { try qemu?.checkReadable(base.path, what: "the image") }
        let (kernel, image, isHvctlGuest) = try bootKernel(request, directory, qemu, context)
        let domain = try await bounded("launching \(instance)", context, extra: .seconds(30)) { () async throws -> Domain in
            if let existing = try? await connection.domain(named: instance) {
                throw try await isOwned(existing, connection, context)
                    ? HypervisorError.instanceExists(instance, driver: name) : HypervisorError.notManaged(instance, driver: name)
            }
            let network = try await GuestNetwork.choose(request.network, connection, context, driver: name)
            let pool = try await base.asyncMap { _ in try await GuestPool.ensure(connection, directory, context, driver: name) }
            // hvctl picks the UUID and puts it on record before the domain exists: if this
            // process dies before libvirt answers, the reaper still knows which domain is its.
            let uuid = UUID().uuidString.lowercased()
            let log = ConsoleLog(directory: directory.console, uuid: uuid)
            var guest = GuestDomain(
                name: instance, uuid: uuid, type: type, run: context.run.value, memoryMiB: memory, vcpus: vcpus,
                kernel: kernel, disk: nil, network: network, consoleLog: log.path, qemuLabel: label, image: image,
                isHvctlGuest: isHvctlGuest)
            try context.state.record(ResourceRecord(driver: name, kind: "domain", name: instance, id: uuid, run: context.run.value))
            if let base, let pool {
                do {
                    let path = try await connection.createVolume(pool: pool, xml: GuestPool.overlayXML(domain: uuid, base: base, label: label))
                    guest.disk = GuestDomain.Disk(path: path, format: "qcow2")
                } catch {
                    try? context.state.forget(driver: name, kind: "domain", ids: [uuid])
                    throw error
                }
            }
            let domain: Domain
            do {
                domain = try await connection.define(xml: guest.xml)
            } catch let error as LibvirtError {
                // libvirt refused it (bad XML, a name taken): nothing was made. A lost reply
                // (RPC, system error) may have made it: it stays on record for cleanup.
                if let code = error.code, code != Int32(VIR_ERR_RPC.rawValue), code != Int32(VIR_ERR_SYSTEM_ERROR.rawValue) {
                    await GuestPool.removeOverlay(domain: uuid, connection, directory, context, driver: name)
                    try? context.state.forget(driver: name, kind: "domain", ids: [uuid])
                }
                throw error
            }
            do {
                try await connection.start(uuid, byUUID: true)
            } catch {
                if (try? await connection.undefine(uuid, byUUID: true)) != nil {
                    await GuestPool.removeOverlay(domain: uuid, connection, directory, context, driver: name)
                    try? context.state.forget(driver: name, kind: "domain", ids: [uuid])
                    log.remove()
                }
                throw error
            }
            return domain
        }
        return Instance(name: instance, driver: name, id: domain.uuid, state: "running", image: image, run: context.run.value)
    }

    /// What the guest boots: `--kernel` as given, else the `--image` disk's own boot loader,
    /// else hvctl's guest. Also what `instance list` shows it runs, and whether it is hvctl's.
    private func bootKernel(
        _ request: InstanceRequest, _ directory: GuestDirectory, _ qemu: QemuAccess?, _ context: DriverContext
    ) throws -> (GuestDomain.Kernel?, String, Bool) {
        if let given = request.kernel {
            // QEMU reopens them by path at every start, as it does a disk image: held to the
            // same rule, and the paths that passed are the ones the domain names.
            var paths: [String] = []
            for (file, what) in [(given, "the kernel")] + (request.initrd.map { [($0, "the initrd")] } ?? []) {
                guard file.hasPrefix("/") else { throw HypervisorError.badRequest("cannot boot \(file): give an absolute path") }
                let path = try PathTrust(context.settings.trust, purpose: "boot \(what) \(file) (copy it where only root can write)").verify(file, as: .file)
                try qemu?.checkReadable(path, what: "\(what) \(file)")
                paths.append(path)
            }
            let shown = request.image.map { "kernel \(given), disk \($0)" } ?? "kernel \(given)"
            return (GuestDomain.Kernel(path: paths[0], initrd: paths.dropFirst().first, cmdline: request.cmdline ?? "console=ttyS0"), shown, false)
        }
        if request.initrd != nil || request.cmdline != nil {
            throw HypervisorError.badRequest("--initrd and --cmdline go with --kernel (hvctl's own guest has its own)")
        }
        if let image = request.image { return (nil, image, false) }
        let kernel = try GuestKernel.find { qemu?.canRead($0) ?? true }
        let initramfs = try GuestInitramfs.ensure(for: kernel, in: directory.initramfs)
        let cmdline = "console=ttyS0 panic=-1 hvctl.name=\(request.name)"
        return (GuestDomain.Kernel(path: kernel.image, initrd: initramfs, cmdline: cmdline), "hvctl guest (Linux \(kernel.release))", true)
    }

    public func instances(_ context: DriverContext) async throws -> [Instance] {
        let connection = try await runningConnection(context)
        let found = try await marked(connection, context)
        let name = self.name
        return try await bounded("reading instances' addresses", context) {
            var out: [Instance] = []
            for d in found.owned {
                let address = d.domain.state == .running ? (try? await connection.leasedAddresses(ofDomain: d.domain.uuid))?.first : nil
                out.append(
                    Instance(
                        name: d.domain.name, driver: name, id: d.domain.uuid, state: d.domain.state.rawValue,
                        image: DomainMark.attribute("image", in: d.mark), run: d.run, address: address))
            }
            return out
        }
    }

    public func delete(_ instance: String, _ context: DriverContext) async throws {
        let connection = try await runningConnection(context)
        let name = self.name
        let directory = GuestDirectory(root: context.settings.libvirtGuestDirectory)
        try await bounded("deleting \(instance)", context, extra: .seconds(30)) {
            let domain = try await owned(instance, connection, context)
            if domain.state != .shutOff { try await connection.destroy(domain.uuid, byUUID: true) }
            try await connection.undefine(domain.uuid, byUUID: true)
            await GuestPool.removeOverlay(domain: domain.uuid, connection, directory, context, driver: name)
            ConsoleLog(directory: directory.console, uuid: domain.uuid).remove()
            try context.state.forget(driver: name, kind: "domain", ids: [domain.uuid])
        }
    }

    public func waitReady(_ instance: String, timeout: Duration, _ context: DriverContext) async throws -> Instance {
        let connection = try await runningConnection(context)
        let domain = try await bounded("looking up \(instance)", context) { try await owned(instance, connection, context) }
        let mark = try await bounded("reading \(instance)'s mark", context) {
            try await connection.metadata(of: domain.uuid, namespace: DomainMark.namespace, byUUID: true)
        }
        let isHvctlGuest = mark.flatMap { DomainMark.attribute("guest", in: $0) } == "hvctl"
        let log = ConsoleLog(directory: GuestDirectory(root: context.settings.libvirtGuestDirectory).console, uuid: domain.uuid)
        let clock = ContinuousClock()
        let start = clock.now
        var lastSaid = start
        while true {
            let state = try await bounded("reading \(instance)'s state", context) { try await connection.domain(uuid: domain.uuid).state }
            guard state == .running else {
                throw HypervisorError.notRunning("\(instance) is \(state.rawValue), not running: it ended before it was ready (see `hvctl instance logs \(instance)`)")
            }
            let text = log.read(limit: 1 << 20)
            var address: String?
            if isHvctlGuest {
                if text.contains(GuestInitramfs.readyLine) {
                    address = try? await bounded("reading \(instance)'s address", context) { try await connection.leasedAddresses(ofDomain: domain.uuid).first }
                    return Instance(name: instance, driver: name, id: domain.uuid, state: "running", image: nil, run: nil, address: address)
                }
            } else {
                address = try? await bounded("reading \(instance)'s address", context) { try await connection.leasedAddresses(ofDomain: domain.uuid).first }
                if text.contains("login:") || address != nil {
                    return Instance(name: instance, driver: name, id: domain.uuid, state: "running", image: nil, run: nil, address: address)
                }
            }
            let now = clock.now
            guard now - start < timeout else {
                throw HypervisorError.timedOut("\(instance) was not ready (see `hvctl instance logs \(instance)`)", after: timeout)
            }
            if now - lastSaid >= .seconds(5) {
                lastSaid = now
                // The guest's bytes, shown on the user's terminal: control characters out.
                let last = text.split(whereSeparator: \.isNewline).last.map { String(String.UnicodeScalarView($0.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }).prefix(80)) } ?? "no console output yet"
                context.progress("waiting for \(instance) to boot… \((now - start).formattedSeconds) (console: \(last))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The serial console as virtlogd kept it; following it ends when the domain stops.
    public func output(of instance: String, _ output: InstanceOutput, _ context: DriverContext, emit: @escaping @Sendable (String) -> Void) async throws {
        let connection = try await runningConnection(context)
        let domain = try await bounded("looking up \(instance)", context) { try await owned(instance, connection, context) }
        let log = ConsoleLog(directory: GuestDirectory(root: context.settings.libvirtGuestDirectory).console, uuid: domain.uuid)
        let size = log.size
        let text = log.lines(last: output.lines)
        if !text.isEmpty { emit(text) }
        guard output.follow else { return }
        // A libvirtd that stops answering ends the follow as a stopped domain would.
        try await log.follow(
            from: size,
            stillRunning: { (try? await bounded("reading \(instance)'s state", context) { try await connection.domain(uuid: domain.uuid).state }) == .running },
            emit: emit)
    }

    /// The serial console, through libvirt's stream API (as `virsh console`).
    public func console(_ instance: String, _ terminal: ConsoleTerminal, _ context: DriverContext) async throws -> ConsoleTerminal.End {
        let connection = try await runningConnection(context)
        let domain = try await bounded("looking up \(instance)", context) { try await owned(instance, connection, context) }
        guard domain.state == .running else { throw HypervisorError.notRunning("\(instance) is \(domain.state.rawValue); its console is there only while it runs") }
        let uri = context.settings.libvirtURI
        let console = try await bounded("opening \(instance)'s console", context) {
            try await BlockingThread(name: "hvctl-libvirt-console").run { try LibvirtConsole.open(uri: uri, uuid: domain.uuid) }
        }
        return await terminal.pump(receive: { console.receive() }, send: { console.send($0) }, interrupt: { console.abort() })
    }

    /// The domain named `instance`, if hvctl made it.
    func owned(_ instance: String, _ connection: LibvirtConnection, _ context: DriverContext) async throws -> Domain {
        let domain: Domain
        do {
            domain = try await connection.domain(named: instance)
        } catch LibvirtError.noSuchDomain {
            throw HypervisorError.noSuchInstance(instance, driver: name)
        }
        guard try await isOwned(domain, connection, context) else { throw HypervisorError.notManaged(instance, driver: name) }
        return domain
    }
}

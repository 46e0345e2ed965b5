import Core

/// The libvirt driver's own settings: hvctl.conf's `[libvirt]` section and --libvirt-uri.
///
///     [libvirt]
///     uri = qemu:///system
///     timeout = 15                 # seconds one look at libvirt may take
///     virt_type = auto             # kvm, qemu, or auto: kvm when /dev/kvm opens (DevStack's rule)
///     guest_dir = /var/lib/hvctl/libvirt   # guests' initramfs, console logs and disk overlays
extension DriverSettings {
    public var libvirtURI: String {
        get { self["libvirt", "uri"] ?? "qemu:///system" }
        set { self["libvirt", "uri"] = newValue }
    }
    /// How long one look at libvirt (connect, list, read marks) may take. libvirt's calls
    /// block; a frozen libvirtd (SIGSTOP, or wedged on a stuck QEMU) would otherwise hold
    /// every command, and the host lock, forever.
    public var libvirtTimeout: Duration { .seconds(self["libvirt", "timeout"].flatMap(Int.init) ?? 15) }
    /// "kvm", "qemu", or nil for DevStack's rule. Nested KVM that opens but cannot boot a
    /// guest (some cloud VMs) needs "qemu".
    public var libvirtVirtType: String? {
        get { self["libvirt", "virt_type"].flatMap { $0 == "auto" ? nil : $0 } }
        set { self["libvirt", "virt_type"] = newValue }
    }
    /// hvctl's alone: what is in it is hvctl's, and cleanup may remove it.
    public var libvirtGuestDirectory: String {
        get { self["libvirt", "guest_dir"] ?? "/var/lib/hvctl/libvirt" }
        set { self["libvirt", "guest_dir"] = newValue }
    }
}

extension LibvirtDriver {
    public func checkSetting(_ key: String, _ value: String) throws -> String {
        switch key {
        case "uri":
            guard !value.isEmpty else { throw HypervisorError.badSetting(driver: name, key: key, takes: "a libvirt URI") }
            return value
        case "timeout":
            guard let n = Int(value), n > 0, n <= Self.maxSeconds else {
                throw HypervisorError.badSetting(driver: name, key: key, takes: "a number of seconds from 1 to \(Self.maxSeconds)")
            }
            return String(n)
        case "virt_type":
            guard ["auto", "kvm", "qemu"].contains(value) else { throw HypervisorError.badSetting(driver: name, key: key, takes: "auto, kvm or qemu") }
            return value
        case "guest_dir":
            guard value.hasPrefix("/"), !value.contains("'") else { throw HypervisorError.badSetting(driver: name, key: key, takes: "an absolute path") }
            return value
        default: throw HypervisorError.badSetting(driver: name, key: key, takes: nil)
        }
    }

    /// A year, as every timeout hvctl reads.
    static let maxSeconds = 365 * 24 * 3600

    public func endpoint(_ settings: DriverSettings) -> String? { settings.libvirtURI }
    public func normalizedEndpoint(_ endpoint: String) -> String { LibvirtURI(endpoint).normalized }
    public func setEndpoint(_ endpoint: String, in settings: inout DriverSettings) { settings.libvirtURI = endpoint }
    public var logUnits: [String] { [Self.daemon.service] }

    /// A local system URI is served by libvirtd, looked at through its units first (any
    /// connection would wake it); test:///, session and remote URIs are connected to at once.
    public func doctor(_ context: DoctorContext) async -> DriverCheck {
        let uri = context.settings.libvirtURI
        if Self.usesLocalDaemon(uri), let units = await Self.daemon.doctorUnits(context) { return units }
        do {
            let (library, hypervisor) = try await withDeadline(context.timeout, "libvirt at \(uri)") {
                let connection = try await LibvirtConnection.open(uri, readOnly: true)
                return (try await connection.libraryVersion(), try await connection.hypervisor())
            }
            return DriverCheck(.ok, "libvirt \(library), \(hypervisor.type) \(hypervisor.version) at \(uri)")
        } catch {
            return DriverCheck(.fail, "\(error)", fix: "look at `journalctl -u \(Self.daemon.service)`")
        }
    }
}

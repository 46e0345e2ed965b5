/// The libvirt domain of an hvctl instance: what it boots, its network and its serial
/// console, whose output virtlogd keeps in a file hvctl owns (`instance logs`, readiness).
struct GuestDomain: Sendable, Equatable {
    var name: String
    /// Chosen by hvctl and put on record before the domain is defined, so a domain defined
    /// again from this XML under another name (virt-clone) is not taken for it.
    var uuid: String
    /// "kvm" or "qemu".
    var type: String
    var run: String
    var memoryMiB = 128
    var vcpus = 1
    /// A kernel booted directly (hvctl's guest, or --kernel); nil: the disk's boot loader.
    var kernel: Kernel?
    /// A qcow2 overlay (or raw image) as the first virtio disk.
    var disk: Disk?
    /// A libvirt network to join; nil: no network.
    var network: String?
    var consoleLog: String
    /// The DAC label ("+UID:+GID") QEMU runs as, from the host's capabilities. Given, hvctl
    /// asks libvirt not to relabel: it would chown the kernel (the host's own, in /boot), a
    /// user's base image or hvctl's shared initramfs to QEMU's user while the domain runs.
    var qemuLabel: String?

    struct Kernel: Sendable, Equatable {
        var path: String
        var initrd: String?
        var cmdline: String
    }

    struct Disk: Sendable, Equatable {
        var path: String
        var format: String
    }

    /// What `instance list` shows it boots.
    var image: String?

    /// hvctl's default guest: its ready line means its init ran, and a panic or a reboot
    /// ends the domain rather than looping.
    var isHvctlGuest = false

    var xml: String {
        var os = "<type arch='x86_64' machine='pc'>hvm</type>"
        if let kernel {
            os += "<kernel>\(DomainMark.escape(kernel.path))</kernel>"
            if let initrd = kernel.initrd { os += "<initrd>\(DomainMark.escape(initrd))</initrd>" }
            os += "<cmdline>\(DomainMark.escape(kernel.cmdline))</cmdline>"
        } else {
            os += "<boot dev='hd'/>"
        }
        let disks = disk.map {
            "<disk type='file' device='disk'><driver name='qemu' type='\(DomainMark.escape($0.format))'/>"
                + "<source file='\(DomainMark.escape($0.path))'/><target dev='vda' bus='virtio'/></disk>"
        } ?? ""
        let interface = network.map {
            "<interface type='network'><source network='\(DomainMark.escape($0))'/><model type='virtio'/></interface>"
        } ?? ""
        let seclabel = qemuLabel.map {
            "<seclabel type='static' model='dac' relabel='no'><label>\(DomainMark.escape($0))</label></seclabel>"
        } ?? ""
        return """
            <domain type='\(DomainMark.escape(type))'>
              <name>\(DomainMark.escape(name))</name>
              <uuid>\(DomainMark.escape(uuid))</uuid>
              <metadata>\(DomainMark.element(run: run, instance: name, image: image, guest: isHvctlGuest ? "hvctl" : nil))</metadata>
              <memory unit='MiB'>\(memoryMiB)</memory>
              <vcpu>\(vcpus)</vcpu>
              <os>\(os)</os>
              <on_poweroff>destroy</on_poweroff>
              <on_reboot>\(isHvctlGuest ? "destroy" : "restart")</on_reboot>
              <on_crash>destroy</on_crash>
              <devices>
                <emulator>\(LibvirtDriver.qemu)</emulator>
                \(disks)
                \(interface)
                <serial type='pty'><log file='\(DomainMark.escape(consoleLog))' append='off'/><target port='0'/></serial>
                <console type='pty'><target type='serial' port='0'/></console>
              </devices>
              \(seclabel)
            </domain>
            """
    }

    /// QEMU's DAC label for domains of `type` in libvirt's capabilities XML:
    /// `<baselabel type='kvm'>+64055:+107</baselabel>` within the dac `<secmodel>`.
    static func qemuLabel(capabilities xml: String, type: String) -> String? {
        guard let model = xml.firstRange(of: "<model>dac</model>") else { return nil }
        let rest = xml[model.upperBound...]
        let end = rest.firstRange(of: "</secmodel>")?.lowerBound ?? rest.endIndex
        let section = rest[..<end]
        guard let open = section.firstRange(of: "<baselabel type='\(type)'>") else { return nil }
        let label = section[open.upperBound...].prefix { $0 != "<" }
        return label.isEmpty ? nil : String(label)
    }
}

import ArgumentParser
import Hypervisors

/// The libvirt driver's options, over hvctl.conf's [libvirt].
struct LibvirtOptions: DriverOptionGroup {
    @Option(help: ArgumentHelp("The libvirt URI (default: [libvirt] uri in hvctl.conf, else qemu:///system).", valueName: "uri"))
    var libvirtURI: String?

    func apply(to settings: inout DriverSettings) {
        if let libvirtURI { settings.libvirtURI = libvirtURI }
    }
}

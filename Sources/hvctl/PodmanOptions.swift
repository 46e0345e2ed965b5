import ArgumentParser
import Hypervisors

/// The Podman driver's options, over hvctl.conf's [podman].
struct PodmanOptions: DriverOptionGroup {
    @Option(help: ArgumentHelp("Podman's API socket (default: [podman] socket in hvctl.conf, else /run/podman/podman.sock).", valueName: "path"))
    var podmanSocket: String?

    func apply(to settings: inout DriverSettings) {
        if let podmanSocket { settings.podmanSocket = podmanSocket }
    }
}

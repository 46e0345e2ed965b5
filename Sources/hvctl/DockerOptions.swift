import ArgumentParser
import Hypervisors

/// The Docker driver's options, over hvctl.conf's [docker].
struct DockerOptions: DriverOptionGroup {
    @Option(help: ArgumentHelp("The Docker Engine socket (default: [docker] socket in hvctl.conf, else /run/docker.sock).", valueName: "path"))
    var dockerSocket: String?

    func apply(to settings: inout DriverSettings) {
        if let dockerSocket { settings.dockerSocket = dockerSocket }
    }
}

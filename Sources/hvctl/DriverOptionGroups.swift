import ArgumentParser
import Hypervisors

/// A native driver's command-line options: one group per driver, each over its section of
/// hvctl.conf (a value given here wins; one not given leaves the file's, then the default).
protocol DriverOptionGroup: ParsableArguments {
    func apply(to settings: inout DriverSettings)
}

/// Every native driver's options, for the commands that take them. Adding a driver with
/// options of its own is a line here and its group's file.
struct NativeDriverOptions: ParsableArguments {
    @OptionGroup var docker: DockerOptions
    @OptionGroup var libvirt: LibvirtOptions
    @OptionGroup var podman: PodmanOptions

    var groups: [any DriverOptionGroup] { [docker, libvirt, podman] }

    func apply(to settings: inout DriverSettings) {
        for group in groups { group.apply(to: &settings) }
    }
}

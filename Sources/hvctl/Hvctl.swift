import ArgumentParser

@main
struct Hvctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hvctl",
        abstract: "A systemd-native hypervisor manager for Linux dev and CI hosts.",
        discussion: """
            hvctl brings up a hypervisor (Docker, libvirt/QEMU, or DevStack's `fake`) and runs \
            DevStack-style extras.d hooks, each as its own systemd transient unit, with logs in \
            the journal. It talks to systemd over D-Bus, to Docker over the Engine API and to \
            libvirt through its C API.

            Start with `hvctl doctor`: it says what this host has and what is missing. Then \
            `hvctl start docker` brings Docker up and makes it the active driver.
            """,
        version: "0.1.0",
        subcommands: [
            StartCommand.self, StopCommand.self, StatusCommand.self, InstanceCommand.self, CleanupCommand.self,
            DriversCommand.self, HooksCommand.self, LogsCommand.self, DoctorCommand.self,
        ]
    )
}

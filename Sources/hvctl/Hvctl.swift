import ArgumentParser
import Glibc

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
            StackCommand.self, UnstackCommand.self, CleanCommand.self, SwitchCommand.self,
            DriversCommand.self, HooksCommand.self, LogsCommand.self, DoctorCommand.self,
        ]
    )

    /// SIGPIPE is ignored: libvirt's client writes to its socket when a daemon goes away
    /// (stopping libvirtd with a connection open would otherwise kill hvctl), and a closed
    /// stdout is handled where output is written.
    static func main() async {
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

import ArgumentParser
import FoundationEssentials
import Glibc
import Core
import Hooks

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

            Every command reads /etc/hvctl/hvctl.conf when it exists (or --config FILE, or \
            $HVCTL_CONFIG): defaults below options and environment variables, such as \
            virt_driver, extras_dir, hook_timeout, compute_config, [hook_env], [hook_timeout], \
            [docker] and [libvirt] settings. See the README.

            hvctl runs as root, so it runs hooks and reads its configuration and state only \
            from files that root or you (SUDO_UID) own, in directories from / down that nobody \
            else can write (hvctl.conf's trusted_users adds owners). It removes only what it \
            created and has on record.
            """,
        version: "0.1.0",
        subcommands: [
            StartCommand.self, StopCommand.self, StatusCommand.self, InstanceCommand.self, CleanupCommand.self, ReapCommand.self,
            StackCommand.self, UnstackCommand.self, CleanCommand.self, SwitchCommand.self,
            DriversCommand.self, HooksCommand.self, LogsCommand.self, DoctorCommand.self, JobCommand.self,
        ]
    )

    /// `--config FILE` is accepted anywhere on the command line, for every command: it is
    /// taken out before parsing and handed on as $HVCTL_CONFIG.
    static func takeConfigOption(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "--" { out += arguments[i...]; break }
            if a == "--config", i + 1 < arguments.count {
                setenv("HVCTL_CONFIG", arguments[i + 1], 1)
                i += 2
                continue
            }
            if a.hasPrefix("--config=") {
                setenv("HVCTL_CONFIG", String(a.dropFirst("--config=".count)), 1)
                i += 1
                continue
            }
            out.append(a)
            i += 1
        }
        return out
    }

    /// SIGPIPE is ignored: libvirt's client writes to its socket when a daemon goes away
    /// (stopping libvirtd with a connection open would otherwise kill hvctl), and a closed
    /// stdout is handled where output is written.
    static func main() async {
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot(Self.takeConfigOption(Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // --help, --version, and an ExitCode (whose command already said why) are the
            // parser's to print.
            if error is ExitCode || exitCode(for: error) == .success { exit(withError: error) }
            StandardStream.error.write(errorLine(for: error) + "\n")
            Glibc.exit(exitCode(for: error).rawValue)
        }
    }

    /// Every error is one line on stderr, so scripts and CI logs can quote it whole: the
    /// parser's usage block shrinks to a pointer at the right --help, and a newline (or other
    /// control character) inside a message, say from a file name, is shown escaped.
    static func errorLine(for error: Error) -> String {
        var line = "Error: " + OneLine.escaping(message(for: error).trimmingSpacesAndNewlines())
        if exitCode(for: error) == .validationFailure,
            let see = fullMessage(for: error).split(separator: "\n").last(where: { $0.contains("See '") }),
            let open = see.firstIndex(of: "'"), let close = see.lastIndex(of: "'"), open < close
        {
            line += " (see \(see[open...close]))"
        }
        return line
    }
}

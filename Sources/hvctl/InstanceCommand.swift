import Core
import ArgumentParser
import FoundationEssentials
import Hypervisors
import Stack

struct InstanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instance",
        abstract: "Launch, wait for, read, list and delete hvctl-managed instances on a driver.",
        discussion: """
            On libvirt an instance is a VM. By default it boots hvctl's guest: the host's \
            kernel (or one in /var/cache/hvctl/guest-kernel) with an initramfs hvctl builds \
            from busybox, a serial console and an address from libvirt's DHCP; it is ready \
            when its console says `hvctl-guest: ready`. --kernel boots another kernel; such a \
            guest is ready at a `login:` prompt on its serial console or a leased address. \
            It joins libvirt's `default` network when that is active, the one --network names, \
            or hvctl's own NAT network, made on first need and removed by cleanup.

            On docker and podman an instance is a container named exactly NAME, labelled as \
            hvctl's: hvctl's busybox base image idling with no network, or --image with its \
            own command (or the one after --); ready when it runs.

            The driver is --driver, else the active driver.

            Examples:
              hvctl instance launch web --driver libvirt --wait
              hvctl instance logs web -n 20
              hvctl instance launch job --driver docker --image debian:12 --network bridge -- sleep 60
              hvctl instance list -o json
            """,
        subcommands: [Launch.self, Wait.self, Logs.self, Console.self, List.self, Delete.self]
    )

    struct Launch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Launch an instance named NAME.",
            discussion: "With --wait, returns once it is ready (see `hvctl instance --help` for what ready means).")
        @Argument(help: "Letters, digits, '.', '_' and '-'.") var name: String
        @Option(help: "The container image (default: hvctl's base image).") var image: String?
        @Option(help: ArgumentHelp("The network to join (libvirt: 'none' for no interface).", valueName: "name")) var network: String?
        @Option(help: ArgumentHelp("Memory in MiB (libvirt default: 128).", valueName: "MiB")) var memory: Int?
        @Option(help: "Virtual CPUs (default: 1).") var vcpus: Int?
        @Option(help: ArgumentHelp("libvirt: boot this kernel instead of hvctl's guest.", valueName: "file")) var kernel: String?
        @Option(help: ArgumentHelp("libvirt: the initrd for --kernel.", valueName: "file")) var initrd: String?
        @Option(help: ArgumentHelp("libvirt: the command line for --kernel (default: console=ttyS0).", valueName: "args")) var cmdline: String?
        @Flag(help: "Wait until the instance is ready.") var wait = false
        @Option(help: ArgumentHelp("With --wait: how long to wait.", valueName: "seconds")) var timeout: Int = 300
        @Option(help: "The driver (default: the active driver).") var driver: String?
        @Option(name: .shortAndLong, help: "Output format: text or json.") var output: OutputFormat = .text
        @Argument(parsing: .postTerminator, help: "Containers: the command to run, after --.") var command: [String] = []
        @OptionGroup var options: DriverOptions

        func validate() throws {
            guard (1...Self.maxTimeout).contains(timeout) else { throw ValidationError("--timeout takes 1 to \(Self.maxTimeout) seconds") }
        }
        static let maxTimeout = 86_400

        func run() async throws {
            try InstanceName.validate(name)
            var request = InstanceRequest(name: name, image: image)
            (request.command, request.network, request.memoryMiB, request.vcpus) = (command, network, memory, vcpus)
            (request.kernel, request.initrd, request.cmdline) = (kernel, initrd, cmdline)
            let session = try await DriverSession.open(driverName: driver, settings: options.settings, progress: note)
            let command = "hvctl instance launch \(name) --driver \(session.driver.name)"
            let request_ = request
            let wait = self.wait, limit = Duration.seconds(timeout)
            // Interrupted (Ctrl-C, SIGTERM), the command still finishes: what it made stays.
            var instance = try await RunGuard.guarding(session.context, command: command, drivers: [session.driver.name], note: note) {
                try await cancellingOnInterrupt { try await session.driver.launch(request_, session.context) }
            }
            if output == .text { say("launched \(instance.name) on \(instance.driver) (\(instance.id.prefix(12)))") }
            if wait {
                let clock = ContinuousClock(), start = clock.now
                let ready = try await cancellingOnInterrupt { try await session.driver.waitReady(request_.name, timeout: limit, session.context) }
                instance.address = ready.address
                if output == .text { say("\(name) is ready after \((clock.now - start).formattedSeconds)\(ready.address.map { " at \($0)" } ?? "")") }
            }
            if output == .json { printJSON(instance) }
        }
    }

    struct Wait: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wait until the instance NAME is ready.",
            discussion: "Returns at once when it is. See `hvctl instance --help` for what ready means on each driver.")
        @Argument var name: String
        @Option(help: ArgumentHelp("How long to wait.", valueName: "seconds")) var timeout: Int = 300
        @Option(help: "The driver (default: the active driver).") var driver: String?
        @Option(name: .shortAndLong, help: "Output format: text or json.") var output: OutputFormat = .text
        @OptionGroup var options: DriverOptions

        func validate() throws {
            guard (1...Launch.maxTimeout).contains(timeout) else { throw ValidationError("--timeout takes 1 to \(Launch.maxTimeout) seconds") }
        }

        func run() async throws {
            let session = try await DriverSession.open(driverName: driver, settings: options.settings, progress: note)
            let (name, limit) = (self.name, Duration.seconds(timeout))
            let ready = try await cancellingOnInterrupt { try await session.driver.waitReady(name, timeout: limit, session.context) }
            if output == .json { printJSON(ready); return }
            say("\(name) is ready\(ready.address.map { " at \($0)" } ?? "")")
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show an instance's output: a VM's serial console, a container's logs.",
            discussion: "With -f, keeps showing what comes until the instance stops or Ctrl-C.")
        @Argument var name: String
        @Flag(name: .shortAndLong, help: "Follow the output as it comes.") var follow = false
        @Option(name: [.customShort("n"), .long], help: "Only the last N lines.") var lines: Int?
        @Option(help: "The driver (default: the active driver).") var driver: String?
        @OptionGroup var options: DriverOptions

        func validate() throws {
            if let lines, lines < 0 { throw ValidationError("-n takes a number of lines, 0 or more") }
        }

        func run() async throws {
            let session = try await DriverSession.open(driverName: driver, settings: options.settings)
            let (name, request) = (self.name, InstanceOutput(lines: lines, follow: follow))
            do {
                try await cancellingOnInterrupt {
                    try await session.driver.output(of: name, request, session.context) { StandardStream.output.write($0) }
                }
            } catch is CancellationError {
                // Ctrl-C ends a follow: what was shown is the answer.
            }
        }
    }

    struct Console: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Attach to an instance's console: a VM's serial console, a container's stdin and output.",
            discussion: """
                Keys go to the guest as typed (Ctrl-C included); Ctrl-] detaches and leaves the \
                instance running. Output is the guest's own: hvctl's guest gives a shell; a \
                container launched with `-- sh` reads what you type (it has no TTY: no prompt).
                """)
        @Argument var name: String
        @Option(help: "The driver (default: the active driver).") var driver: String?
        @OptionGroup var options: DriverOptions

        func run() async throws {
            let session = try await DriverSession.open(driverName: driver, settings: options.settings)
            let raw = RawTerminal(fd: 0)
            note("connected to \(name)'s console; the escape character is ^]")
            let name = self.name
            let end: ConsoleTerminal.End
            do {
                defer { raw?.restore() }
                end = try await session.driver.console(name, ConsoleTerminal(), session.context)
            }
            switch end {
            case .detached: note("detached from \(name); it is still running")
            case .closed: note("\(name)'s console closed")
            case .inputEnded: note("input ended; detached from \(name)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List hvctl's instances: state, address, what they run.")
        @Option(help: "The driver (default: the active driver).") var driver: String?
        @Option(name: .shortAndLong, help: "Output format: text or json.") var output: OutputFormat = .text
        @OptionGroup var options: DriverOptions

        func run() async throws {
            let session = try await DriverSession.open(driverName: driver, settings: options.settings)
            let list = try await session.driver.instances(session.context)
            if output == .json { printJSON(list); return }
            if list.isEmpty { say("no instances on \(session.driver.name)") }
            for i in list {
                let columns = [(i.name, 24), (i.state, 10), (i.address ?? "-", 18)]
                say(columns.map { $0.0.padded(to: max($0.1, $0.0.utf16.count)) }.joined(separator: " ") + " " + (i.image ?? ""))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete the instance NAME (only one hvctl made), with its console log.")
        @Argument var name: String
        @Option(help: "The driver (default: the active driver).") var driver: String?
        @OptionGroup var options: DriverOptions
        @Option(name: .shortAndLong, help: "Output format: text or json ({name, driver, deleted}).") var output: OutputFormat = .text

        /// What `-o json` prints: a delete either happened or the command failed.
        struct Deleted: Encodable { var name: String, driver: String, deleted = true }

        func run() async throws {
            let session = try await DriverSession.open(driverName: driver, settings: options.settings)
            try await session.driver.delete(name, session.context)
            if output == .json {
                printJSON(Deleted(name: name, driver: session.driver.name))
            } else {
                say("deleted \(name) from \(session.driver.name)")
            }
        }
    }
}

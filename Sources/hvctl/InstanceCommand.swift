import Core
import ArgumentParser
import FoundationEssentials
import Hypervisors
import Stack

struct InstanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instance",
        abstract: "Launch, list and delete hvctl-managed instances on a driver.",
        discussion: """
            On docker an instance is a container named exactly NAME, labelled as hvctl's, \
            running from the base image with no network. The driver is --driver, else the \
            active driver.
            """,
        subcommands: [Launch.self, List.self, Delete.self]
    )

    struct Launch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Launch an instance named NAME.")
        @Argument(help: "Letters, digits, '.', '_' and '-'.") var name: String
        @Option(help: "The image (default: the driver's base image).") var image: String?
        @Option(help: "The driver (default: the active driver).") var driver: String?
        @OptionGroup var options: DriverOptions

        func run() async throws {
            try InstanceName.validate(name)
            let session = try await DriverSession.open(driverName: driver, settings: options.settings, progress: note)
            let command = "hvctl instance launch \(name) --driver \(session.driver.name)"
            // Interrupted (Ctrl-C, SIGTERM), the command still finishes: what it made stays.
            let instance = try await RunGuard.guarding(session.context, command: command, drivers: [session.driver.name], note: note) {
                try await cancellingOnInterrupt { try await session.driver.launch(name, image: image, session.context) }
            }
            say("launched \(instance.name) on \(instance.driver) (\(instance.id.prefix(12)))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List hvctl's instances.")
        @Option(help: "The driver (default: the active driver).") var driver: String?
        @Option(name: .shortAndLong, help: "Output format: text or json.") var output: OutputFormat = .text
        @OptionGroup var options: DriverOptions

        func run() async throws {
            let session = try await DriverSession.open(driverName: driver, settings: options.settings)
            let list = try await session.driver.instances(session.context)
            if output == .json { printJSON(list); return }
            if list.isEmpty { say("no instances on \(session.driver.name)") }
            for i in list {
                say("\(i.name.padded(to: 24)) \(i.state.padded(to: 10)) \(i.image ?? "")")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete the instance NAME (only one hvctl made).")
        @Argument var name: String
        @Option(help: "The driver (default: the active driver).") var driver: String?
        @OptionGroup var options: DriverOptions

        func run() async throws {
            let session = try await DriverSession.open(driverName: driver, settings: options.settings)
            try await session.driver.delete(name, session.context)
            say("deleted \(name) from \(session.driver.name)")
        }
    }
}

import Core
import ArgumentParser
import DevStack
import FoundationEssentials
import Hooks
import Hypervisors
import Stack

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check what hvctl needs on this host, without changing anything.",
        discussion: """
            Checks that systemd answers on D-Bus (and its version), that the journal is \
            readable, that Docker's socket answers /_ping (and its API version), that libvirt's \
            URI connects (and its version), and whether /dev/kvm is usable.

            Nothing is started: the Docker and libvirt daemons are looked at through their \
            systemd units first, because connecting to a socket-activated daemon's socket \
            would start it.

            Exits 0 when everything the selected driver needs is there. The driver is \
            --driver, else $VIRT_DRIVER, else libvirt (DevStack's default).

            With --top-dir (or top_dir in hvctl.conf) naming a DevStack checkout, also checks \
            what DevStack's own code needs while it is sourced: STACK_USER (stack, unless \
            local.conf sets it) exists, sudo and gawk are installed.

            Examples:
              hvctl doctor
              VIRT_DRIVER=docker hvctl doctor -o json
            """
    )

    @Option(name: .shortAndLong, help: "Output format: text or json.")
    var output: OutputFormat = .text

    @Option(help: "The driver whose needs decide the exit status: docker, podman, libvirt, fake, or a script driver (hvctl drivers lists them).")
    var driver: String?

    @OptionGroup var drivers: NativeDriverOptions

    @Option(help: ArgumentHelp("A DevStack checkout hooks run in (default: top_dir in hvctl.conf).", valueName: "dir"))
    var topDir: String?

    func run() async throws {
        let selection: DriverSelection
        var devstack: DevStackTree?
        var settings = DriverSettings()
        drivers.apply(to: &settings)
        do {
            let config = try Invocation.config()
            config.apply(to: &settings)
            devstack = (topDir ?? config.topDir).flatMap { DevStackTree(topDir: ExtrasDirectory.absolute($0)) }
            selection = try DriverSelection.resolve(
                flag: driver, environment: ProcessInfo.processInfo.environment, state: try? StateStore.fromEnvironment().load(),
                configured: config.virtDriver)
        } catch {
            throw ValidationError("\(error)")
        }
        var doctor = Doctor(driver: selection)
        doctor.settings = settings
        doctor.devstack = devstack
        let report = await doctor.run()

        switch output {
        case .json:
            printJSON(report)
        case .text:
            say(render(report))
        }
        if !report.healthy {
            StandardStream.error.write("hvctl: not ready for \(report.driver): \(report.firstProblem ?? "a required check failed")\n")
            throw ExitCode(1)
        }
    }

    private func render(_ report: DoctorReport) -> String {
        var lines = ["driver: \(report.driver) (from \(report.driverSource))"]
        for check in report.checks {
            let status = check.status.rawValue.padded(to: 8)
            let name = check.name.padded(to: 8)
            let optional = check.required || check.status == .ok ? "" : " (not needed by \(report.driver))"
            lines.append("\(status)\(name)\(check.detail)\(optional)")
            if let fix = check.fix, check.status != .ok {
                lines.append(String(repeating: " ", count: 16) + "fix: \(fix)")
            }
        }
        lines.append(report.healthy ? "ready for \(report.driver)" : "not ready for \(report.driver)")
        return lines.joined(separator: "\n")
    }
}

import ArgumentParser
import Core
import FoundationEssentials
import Hypervisors
import Stack
import Systemd

struct CleanupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Remove everything that carries hvctl's mark, on every driver, and nothing else.",
        discussion: """
            With no DRIVER, looks at every driver whose daemon is reachable and at the host: \
            Docker containers, networks, volumes and images labelled org.hvctl.managed=true \
            (containers also need org.hvctl.instance, which only hvctl sets); libvirt domains \
            carrying hvctl's metadata, with their managed save, snapshots and nvram; hvctl's \
            transient units in hvctl.slice, running or failed; stale files under /run/hvctl; \
            and the leases of runs that died unfinished. All drivers are cleaned at the same \
            time. With DRIVER, only that driver's resources.

            What belongs to an hvctl command still running is never touched. A daemon that is \
            installed but stopped is not started to look: it is reported unreachable, which \
            is a failure unless --ignore-unreachable. Exits 0 only when nothing marked remains \
            (a second run finds nothing and is quick).

            Examples:
              hvctl cleanup --dry-run        what would go, and what unmarked things it keeps
              hvctl cleanup -o json          in CI, after the job
              hvctl cleanup docker
            """
    )

    @Argument(help: "Only this driver (default: every driver, and hvctl's units and files).")
    var driver: String?

    @OptionGroup var options: DriverOptions

    @Flag(help: "Show what would be removed and what unmarked resources are kept; remove nothing.")
    var dryRun = false

    @Flag(help: "Succeed even if a driver's daemon is installed but not running (its resources are not looked at).")
    var ignoreUnreachable = false

    @Option(name: .shortAndLong, help: "Output format: text or json.")
    var output: OutputFormat = .text

    func run() async throws {
        let report = try await CleanupRun.run(driver: driver, settings: options.settings, dryRun: dryRun, note: note)
        let error = outcome(of: report)
        if output == .json {
            printJSON(CleanupOutput(report, dryRun: dryRun, error: error))
        } else {
            show(report)
        }
        if let error { throw error }
    }

    /// The error this cleanup ends in, if any: the first of failures, drivers not looked at
    /// (unless accepted), marked items left.
    private func outcome(of report: HostCleanup.Report) -> CleanupError? {
        if !report.failures.isEmpty { return .failed(report.failures) }
        if !report.unreachable.isEmpty && !ignoreUnreachable { return .unreachable(report.unreachable) }
        if !dryRun && !report.remaining.isEmpty { return .remaining(report.remaining) }
        return nil
    }

    private func show(_ report: HostCleanup.Report) {
        let verb = dryRun ? "would remove" : "removed"
        for driver in report.drivers where !driver.notInstalled {
            for (kind, names) in driver.removed.sorted(by: { $0.key < $1.key }) {
                for n in names { say("\(verb) \(kind) \(n)") }
            }
            if driver.unreachable == nil {
                var line = "\(driver.driver): \(driver.count) item\(driver.count == 1 ? "" : "s") \(dryRun ? "to remove" : "removed")"
                if !dryRun && driver.count > 0 { line += " (kill \(driver.killSeconds.fixed(2)) s, removal \(driver.removeSeconds.fixed(2)) s)" }
                say(line)
            }
            let unmarked = driver.unmarked.filter { $0.value > 0 }.sorted { $0.key < $1.key }
            if !unmarked.isEmpty {
                say("\(driver.driver): keeps what hvctl did not make: " + unmarked.map { "\($0.value) \($0.key)\($0.value == 1 ? "" : "s")" }.joined(separator: ", "))
            }
            for item in driver.kept { note("kept \(item): containers hvctl did not create still use it") }
            if let why = driver.unreachable { note("\(driver.driver): nothing cleaned: \(why)") }
        }
        guard driver == nil else { return }
        for unit in report.units.removed { say("\(verb) unit \(unit)") }
        for file in report.files { say("\(verb) file \(file)") }
        for run in report.reapedRuns { say("settled run \(run), which had died unfinished") }
        say("host: \(report.units.removed.count) unit\(report.units.removed.count == 1 ? "" : "s") and \(report.files.count) file\(report.files.count == 1 ? "" : "s") \(dryRun ? "to remove" : "removed")")
        for item in report.units.spared + report.drivers.flatMap(\.spared) { note("spared \(item)") }
    }

}

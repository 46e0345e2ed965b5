import Core
import ArgumentParser
import FoundationEssentials
import Hypervisors
import Stack
import Systemd

struct ReapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reap",
        abstract: "Remove what hvctl commands that died unfinished had made.",
        discussion: """
            Every hvctl command that creates something (stack, start, switch, unstack, clean, \
            instance launch, hooks run) holds a lease, /var/lib/hvctl/runs/RUN.lease, locked \
            for as long as it runs, and starts a reaper unit, hvctl-RUN-reaper.service, that \
            waits on it. If the command dies before finishing (SIGKILL, OOM, a lost CI \
            runner), the reaper removes everything carrying that run id at once: its hook \
            units, containers, images and domains. A command that finished — even with an \
            error — leaves no lease, so what it made stays until you remove it. The next hvctl \
            command also reaps any run that died (after a reboot, say), and so does `hvctl \
            cleanup`.

            `hvctl reap` does the same by hand: every run that died, or only RUN. hvctl's \
            reaper units run `hvctl reap --wait RUN`.
            """
    )

    @Argument(help: "Only this run (default: every run that died unfinished).")
    var run: String?

    @Flag(help: "Wait until RUN ends; reap it only if it died unfinished (what a reaper unit does).")
    var wait = false

    @Option(help: ArgumentHelp("With --wait: the process (PID:STARTTIME) that will take RUN's lease.", valueName: "process"))
    var owner: String?

    @Option(help: ArgumentHelp("An endpoint a dead run may have used besides the default and hvctl.conf's: a driver's socket or URI (docker=/run/docker.sock). Repeatable.", valueName: "driver=endpoint"))
    var endpoint: [String] = []

    @Option(name: .shortAndLong, help: "Output format: text or json.")
    var output: OutputFormat = .text

    func validate() throws {
        if let run, RunID(run) == nil { throw ValidationError("'\(run)' is not a run id (lower-case letters, digits and '_', up to 32)") }
        if wait && (run == nil || owner.flatMap(ProcessIdentity.init) == nil) {
            throw ValidationError("--wait needs a RUN and --owner PID:STARTTIME")
        }
        for given in endpoint {
            let parts = given.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty, Drivers.all[parts[0]]?.endpoint(DriverSettings()) != nil else {
                throw ValidationError("--endpoint takes DRIVER=ENDPOINT for a driver with one (\(Drivers.names.filter { Drivers.all[$0]?.endpoint(DriverSettings()) != nil }.joined(separator: ", "))), not '\(given)'")
            }
        }
    }

    func run() async throws {
        let pairs = endpoint.map { given -> (driver: String, endpoint: String) in
            let parts = given.split(separator: "=", maxSplits: 1).map(String.init)
            return (parts[0], parts[1])
        }
        var reports: [HostCleanup.Report] = []
        let text = output == .text
        do {
            try await ReapRun.run(only: run, waitingFor: wait ? owner.flatMap(ProcessIdentity.init) : nil, endpoints: pairs, note: note) { reaped in
                reports.append(reaped.report)
                guard text else { return }
                let (info, report) = (reaped.info, reaped.report)
                say("run \(info.run) (\(info.command), pid \(info.pid)) had died unfinished: removed \(report.removedCount) item\(report.removedCount == 1 ? "" : "s")")
                for problem in report.failures + report.remaining + report.unreachable { note("not removed yet: \(problem)") }
            }
        } catch let error as ReapError {
            if output == .json { printJSON(reports.map { CleanupOutput($0, dryRun: false, error: $0.failures.isEmpty ? nil : .failed($0.failures)) }) }
            throw error
        }
        if output == .json { printJSON(reports.map { CleanupOutput($0, dryRun: false, error: $0.failures.isEmpty ? nil : .failed($0.failures)) }) }
        if text && reports.isEmpty && !wait { say("no run died unfinished") }
    }
}

import Core
import ArgumentParser
import Foundation
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
        let store = StateStore.fromEnvironment()
        // Leases are read from here: another user's directory is refused before any is.
        try store.checkTrusted()
        let runtime = HostCleanup.runtimeDirectory()
        var dead: [DeadRun]
        if wait, let run, let owner = owner.flatMap(ProcessIdentity.init) {
            // Connect only once there is work: a connection held through hours of waiting
            // could be gone (dbus restarted) by then.
            guard let died = await RunLease.awaitEnd(of: run, owner: owner, store: store) else { return }
            dead = [died]
        } else {
            let leases = try RunLease.scan(store)
            for unsafe in leases.unsafe { note("left alone: \(unsafe) breaks the trust rule (owner or mode); nothing it says is used") }
            if let run, let live = leases.live.first(where: { $0.run == run }) {
                throw ReapError.stillGoing(live)
            }
            dead = leases.dead.filter { run == nil || $0.info.run == run }
            for other in leases.dead where !dead.contains(where: { $0 === other }) { other.release(reaped: false) }
        }
        // The endpoints a lease may name: the defaults, hvctl.conf's when it reads (a broken
        // one must not stop a reaper) and the options.
        var settings = DriverSettings()
        (try? HostConfig.load())?.apply(to: &settings)
        for given in endpoint {
            let parts = given.split(separator: "=", maxSplits: 1).map(String.init)
            Drivers.all[parts[0]]?.setEndpoint(parts[1], in: &settings)
        }
        let context = DriverContext(systemd: try await SystemdManager.connect(), state: store, run: .generate(), settings: settings)
        var reports: [HostCleanup.Report] = []
        for d in dead {
            let ownUnit = wait ? Reaper.unitName(RunID(d.info.run)!) : nil
            let report = await Reaper(context: context, runtimeDirectory: runtime, ownUnit: ownUnit).reap(d, settle: wait ? .seconds(1) : nil)
            reports.append(report)
            if output == .text {
                say("run \(d.info.run) (\(d.info.command), pid \(d.info.pid)) had died unfinished: removed \(report.removedCount) item\(report.removedCount == 1 ? "" : "s")")
                for problem in report.failures + report.remaining + report.unreachable { note("not removed yet: \(problem)") }
            }
        }
        if output == .json { printJSON(reports.map(CleanupOutput.init)) }
        if output == .text && dead.isEmpty && !wait { say("no run died unfinished") }
        let unsettled = zip(dead, reports).filter { $0.1.reapedRuns.isEmpty }
        if !unsettled.isEmpty {
            throw ReapError.unsettled(unsettled.map { "run \($0.0.info.run): " + ($0.1.failures + $0.1.remaining + $0.1.unreachable).joined(separator: "; ") })
        }
    }
}

enum ReapError: Error, CustomStringConvertible {
    case stillGoing(RunLease.Info)
    case unsettled([String])

    var description: String {
        switch self {
        case .stillGoing(let info):
            return "run \(info.run) is still going (\(info.command), pid \(info.pid)); it is reaped only if it dies unfinished"
        case .unsettled(let lines):
            return "not everything of the dead runs could be removed; their leases stay for the next try: \(lines.joined(separator: " | "))"
        }
    }
}

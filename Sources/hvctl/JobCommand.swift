import ArgumentParser
import FoundationEssentials
import Stack

/// inc/async's jobs from inside a hook: what hvctl's async_run and async_wait call.
struct JobCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Start or wait for a DevStack async job (called by async_run and async_wait inside a hook).",
        discussion: """
            In DevStack mode a hook's async_runfunc FUNC ARGS runs FUNC as the unit \
            hvctl-RUN-job-FUNC.service, starting from the hook's shell state at that moment, \
            as the hook's user; async_wait FUNC waits for it from any later call of the same \
            run and fails with its exit code and last lines. Both reach the running flow \
            through $HVCTL_JOBS_SOCKET; outside a hook there is nothing to talk to.
            """,
        shouldDisplay: false,
        subcommands: [JobStartCommand.self, JobWaitCommand.self])
}

struct JobStartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start job NAME: COMMAND in the shell state STATE.")

    @Argument(help: "The job's name.") var name: String
    @Argument(help: "The caller's shell state, written by hvctl's __hvctl_save_state.") var state: String
    @Argument(parsing: .postTerminator, help: "The command (a function and its arguments).") var command: [String] = []

    func run() throws {
        say(try AsyncJobs.start(name: name, state: state, command: command, environment: ProcessInfo.processInfo.environment))
    }
}

struct JobWaitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wait", abstract: "Wait for jobs, in order; fail as the first failed one did.")

    @Flag(help: "Every job of the run not waited for yet.") var all = false
    @Argument(help: "The jobs' names.") var names: [String] = []

    func run() throws {
        let (lines, status) = try AsyncJobs.wait(names: names, all: all, environment: ProcessInfo.processInfo.environment)
        lines.forEach(say)
        if status != 0 { throw ExitCode(status) }
    }
}

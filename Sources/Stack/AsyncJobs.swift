import DevStack
import Core
import FoundationEssentials

/// `hvctl job`, which DevStack's async_run and async_wait call from inside a hook in DevStack
/// mode: asks the flow's hvctl (JobServer) over HVCTL_JOBS_SOCKET, and says what happened as
/// inc/async would.
public enum AsyncJobs {
    static func socket(_ environment: [String: String]) throws -> String {
        guard let path = environment["HVCTL_JOBS_SOCKET"], !path.isEmpty else { throw JobError.notInAFlow }
        return path
    }

    /// Starts job `name`: `command` in the shell state `state`. Returns the line to print.
    public static func start(name: String, state: String, command: [String], environment: [String: String]) throws -> String {
        let response = try JobClient.send(JobRequest(operation: .start, names: [name], state: state, command: command), socket: try socket(environment))
        if let error = response.error { throw StackError.jobRefused(error) }
        return "[Async \(name)]: running as \(response.unit ?? "a unit"): \(command.joined(separator: " "))"
    }

    /// Waits for `names` in order (every job started and not yet waited for, with `all`);
    /// the lines to print and the exit status: the first failed job's, as async_wait returns.
    public static func wait(names: [String], all: Bool, environment: [String: String]) throws -> (lines: [String], status: Int32) {
        let request = JobRequest(operation: all ? .waitAll : .wait, names: names)
        let response = try JobClient.send(request, socket: try socket(environment))
        if let error = response.error { throw StackError.jobRefused(error) }
        var lines = response.unknown.map { "Not waiting for async task \($0) that we never started or has already been waited for" }
        var status: Int32 = 0
        for job in response.finished {
            let seconds = job.seconds.fixed(1)
            if job.result == "success" {
                lines.append("[Async \(job.name)]: finished successfully in \(seconds) seconds")
            } else {
                status = job.exitStatus == 0 ? 1 : job.exitStatus
                lines.append("[Async \(job.name)]: FAILED with rc \(job.exitStatus) (\(job.result)) in \(seconds) seconds; last lines:")
                lines += (job.lastLines ?? []).map { "  | \($0)" }
                lines.append("  all of it: journalctl -u \(job.unit)")
                lines.append("Stopping async wait due to error: \(names.joined(separator: " "))")
            }
        }
        return (lines, status)
    }
}

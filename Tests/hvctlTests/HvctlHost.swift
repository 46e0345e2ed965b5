import Foundation
import TestSupport

/// hvctl with a state directory, runtime directory and compute config of its own, so a test
/// never touches the host's /var/lib/hvctl or /run/hvctl.
struct HvctlHost {
    let dir: String

    /// A fresh directory under /tmp of the test host.
    init(_ prefix: String) { dir = "/tmp/" + uniqueName(prefix) }

    /// Inside a directory the test already has (a HookFixture's TOP_DIR).
    init(top: String) { dir = top }

    var state: String { dir + "/state" }
    var runtime: String { dir + "/run" }
    var env: [String: String] { ["HVCTL_STATE_DIR": state, "HVCTL_RUNTIME_DIR": runtime, "HVCTL_COMPUTE_CONFIG": dir + "/compute.conf"] }

    @discardableResult
    func hvctl(_ args: String...) throws -> Witness.Output { try hvctl(args) }

    @discardableResult
    func hvctl(_ args: [String]) throws -> Witness.Output { try Witness.run([hvctlBinary] + args, environment: env) }

    /// Runs hvctl (under `wrapper`, e.g. unshare); returns its output and how long it took.
    func timed(_ args: [String], wrapper: [String] = [], environment: [String: String] = [:]) throws -> (Witness.Output, Duration) {
        var out = Witness.Output(status: -1, stdout: "", stderr: "")
        let took = try ContinuousClock().measure {
            out = try Witness.run(wrapper + [hvctlBinary] + args, environment: env.merging(environment) { $1 })
        }
        return (out, took)
    }

    /// Starts hvctl in the background with this host's environment; stdout goes to `stdout`
    /// (a pipe to read) or nowhere, stderr to `stderr` or nowhere.
    func spawn(_ args: [String], stdout: Pipe? = nil, stderr: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: hvctlBinary)
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        process.standardOutput = stdout ?? FileHandle.nullDevice
        process.standardError = stderr ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}

import Foundation
import TestSupport

/// The built `hvctl` binary, next to this test bundle (or $HVCTL_BIN).
let hvctlBinary: String = {
    if let path = ProcessInfo.processInfo.environment["HVCTL_BIN"] { return path }
    let dir = Bundle.main.executableURL!.deletingLastPathComponent()
    // Swift Testing may run from inside the .xctest bundle; the products sit beside it.
    for candidate in [dir, dir.deletingLastPathComponent(), dir.deletingLastPathComponent().deletingLastPathComponent()] {
        let path = candidate.appendingPathComponent("hvctl").path
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return dir.appendingPathComponent("hvctl").path
}()

/// hvctl with a state directory, runtime directory (so a host lock) and compute config of its
/// own, so a test never touches the host's /var/lib/hvctl or /run/hvctl, never sees another
/// test's active driver, and never waits for another test's lock.
struct HvctlHost {
    let dir: String

    /// A fresh directory under /tmp of the test host.
    init(_ prefix: String) { dir = "/tmp/" + uniqueName(prefix) }

    /// Inside a directory the test already has (a HookFixture's TOP_DIR).
    init(top: String) { dir = top }

    var state: String { dir + "/state" }
    var runtime: String { dir + "/run" }
    /// Where HostLock puts this host's lock (HostLock.path of `env`).
    var lock: String { runtime + "/lock" }
    var computeConfig: String { dir + "/compute.conf" }
    var env: [String: String] { ["HVCTL_STATE_DIR": state, "HVCTL_RUNTIME_DIR": runtime, "HVCTL_COMPUTE_CONFIG": computeConfig] }

    @discardableResult
    func hvctl(_ args: String...) throws -> Witness.Output { try hvctl(args) }

    /// Runs hvctl (under `wrapper`, e.g. unshare, which gets hvctl's path and `args` as its
    /// last arguments) with this host's environment and `environment` over it.
    @discardableResult
    func hvctl(_ args: [String], environment: [String: String] = [:], wrapper: [String] = []) throws -> Witness.Output {
        try Witness.run(wrapper + [hvctlBinary] + args, environment: env.merging(environment) { $1 })
    }

    /// hvctl's stdout as JSON (for `-o json`).
    func json(_ args: String...) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(try hvctl(args).stdout.utf8))
    }

    /// Runs hvctl as `hvctl(_:environment:wrapper:)` does; returns its output and how long it took.
    func timed(_ args: [String], wrapper: [String] = [], environment: [String: String] = [:]) throws -> (Witness.Output, Duration) {
        var out = Witness.Output(status: -1, stdout: "", stderr: "")
        let took = try ContinuousClock().measure { out = try hvctl(args, environment: environment, wrapper: wrapper) }
        return (out, took)
    }

    /// Starts hvctl in the background with this host's environment and `environment` over it;
    /// stdout goes to `stdout` (a pipe to read) or nowhere, stderr to `stderr` or nowhere.
    func spawn(_ args: [String], environment: [String: String] = [:], stdout: Pipe? = nil, stderr: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: hvctlBinary)
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(env.merging(environment) { $1 }) { $1 }
        process.standardOutput = stdout ?? FileHandle.nullDevice
        process.standardError = stderr ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    /// hvctl's state file, decoded.
    func stateFile() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: state + "/state.json"))) as? [String: Any] ?? [:]
    }

    /// The verbs the fake driver was called with, in order (its <state>/fake-calls.log).
    func fakeVerbs() throws -> [String] {
        try String(contentsOfFile: state + "/fake-calls.log", encoding: .utf8)
            .split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .compactMap { $0["verb"] as? String }
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}

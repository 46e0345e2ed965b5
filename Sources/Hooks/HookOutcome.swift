/// How one hook call ended.
public struct HookOutcome: Sendable, Equatable, Codable {
    public var hook: String
    public var mode: String
    public var phase: String
    public var unit: String
    /// systemd's Result: "success", "exit-code", "signal", "timeout", …
    public var result: String
    /// The shell's status: the exit code, or 128+signal.
    public var exitStatus: Int32
    public var seconds: Double
    public var invocationID: String?
    /// On failure: the last lines the hook logged.
    public var lastLines: [String]?
    /// What else happened, e.g. processes the hook left behind that had to be killed.
    public var note: String?

    public var succeeded: Bool { result == "success" }
}

/// One phase of hooks, as run.
public struct HookRunReport: Sendable, Equatable, Codable {
    public var run: String
    public var mode: String
    public var phase: String
    public var driver: String
    public var hooks: [HookOutcome]
    /// Set when SIGINT/SIGTERM stopped the run.
    public var interrupted: Bool
    /// The hook whose unit the interrupt stopped, if one was running.
    public var stoppedHook: String?
    /// journald did not take the run's start marker (it is not running): the hooks' output
    /// is not being recorded.
    public var unrecorded = false
    /// DevStack mode: async jobs nobody waited for, stopped when the run ended.
    public var unwaitedJobs: [String] = []

    public var succeeded: Bool { !interrupted && hooks.allSatisfy(\.succeeded) }

    public init(run: String, mode: String, phase: String, driver: String, hooks: [HookOutcome], interrupted: Bool) {
        self.run = run
        self.mode = mode
        self.phase = phase
        self.driver = driver
        self.hooks = hooks
        self.interrupted = interrupted
    }
}

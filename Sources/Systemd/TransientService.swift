import Glibc

/// A command to run as a transient service (`Type=oneshot` unless said otherwise), and what it ran with.
public struct TransientService: Sendable {
    /// Full unit name, ending in `.service`; hvctl uses `hvctl-<run>-….service`.
    public var name: String
    /// argv; `argv[0]` must be an absolute path.
    public var command: [String]
    public var description: String?
    public var environment: [String: String] = [:]
    public var workingDirectory: String?
    public var slice: String?
    /// The longest the command may run. systemd ignores RuntimeMaxSec= for oneshot services
    /// (systemd.service(5)), so this is sent as TimeoutStartUSec, which is the limit that does
    /// apply to them; the unit's Result is then "timeout".
    public var runtimeMax: Duration?
    /// "inactive" or "inactive-or-failed". hvctl pins the unit with AddRef while it reads the
    /// result, so "inactive-or-failed" (the default) loses nothing and leaves nothing behind.
    public var collectMode: String = "inactive-or-failed"
    public var syslogIdentifier: String?
    /// Run the command as this user (User=) instead of root.
    public var user: String?
    /// Extra journal fields on every line the unit logs, e.g. `HVCTL_RUN=…`.
    public var logExtraFields: [String: String] = [:]
    /// Lift journald's per-unit rate limit so no output line is dropped.
    public var unlimitedLogRate = true
    /// Any other unit properties, by their D-Bus names (e.g. "PrivateTmp", "MemoryMax",
    /// "TimeoutStopUSec"), for settings this struct has no field for, such as sandboxing.
    public var extraProperties: [(name: String, value: UnitPropertyValue)] = []
    /// "oneshot" for `SystemdManager.run` (it waits for the command to exit); "exec" for
    /// `SystemdManager.launch` (a helper that outlives the call, such as a run's reaper).
    public var type = "oneshot"

    public init(name: String, command: [String]) {
        self.name = name
        self.command = command
    }
}

/// How a transient service ended.
public struct TransientResult: Sendable, Equatable {
    public enum Exit: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)
        /// systemd did not say (the process never ran, or the unit is gone).
        case unknown
    }

    public var unit: String
    /// The service's Result: "success", "exit-code", "signal", "timeout", "core-dump", …
    public var result: String
    public var exit: Exit
    /// For a failed run, the invocation ID (32 hex digits) systemd gave it. Not read after a
    /// success, to save a round trip per unit: the unit's name already identifies its lines.
    public var invocationID: String?

    public var succeeded: Bool { result == "success" }

    /// The status a shell would report: the exit code, or 128+signal.
    public var exitStatus: Int32 {
        switch exit {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        case .unknown: return succeeded ? 0 : 1
        }
    }
}

/// A unit property value, typed as systemd's D-Bus API expects it.
public enum UnitPropertyValue: Sendable, Equatable {
    case string(String)
    case bool(Bool)
    case uint64(UInt64)
    case int32(Int32)
    case strings([String])
    /// An exit status set, "(aiai)": exit statuses and signals, as SuccessExitStatus= takes them.
    case exitStatuses([Int32], signals: [Int32])
}

extension TransientResult.Exit {
    /// systemd's ExecMainCode is the si_code of the main process's SIGCHLD (waitid(2)), and
    /// ExecMainStatus goes with it: the exit status after CLD_EXITED, the signal after
    /// CLD_KILLED or CLD_DUMPED. 0 means the process never ran.
    private static let byCode: [Int32: @Sendable (Int32) -> Self] = [
        Int32(CLD_EXITED): Self.exited,
        Int32(CLD_KILLED): Self.signaled,
        Int32(CLD_DUMPED): Self.signaled,
    ]

    /// Decodes ExecMainCode and ExecMainStatus.
    init(code: Int32, status: Int32) {
        self = Self.byCode[code]?(status) ?? .unknown
    }
}

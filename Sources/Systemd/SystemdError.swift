/// What went wrong talking to systemd or journald, worded for the person at the terminal.
public enum SystemdError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Neither the system bus nor the manager's private socket answered.
    case unreachable(attempts: [String])
    /// A D-Bus method call failed; `message` is the bus error systemd sent, or strerror.
    case callFailed(method: String, target: String, message: String)
    /// A job (start/stop/restart) ended with a result other than done/skipped.
    case jobFailed(unit: String, verb: String, result: String)
    /// We stopped waiting; the unit may still be running.
    case timedOut(what: String, after: Duration)
    case invalidUnitName(String, reason: String)
    /// A transient service's command does not start with an absolute path, which systemd needs.
    case relativeCommand(unit: String, program: String)
    /// `run` waits for a command to exit, which only a oneshot service's start job does.
    case notOneshot(unit: String, type: String)
    case connectionLost(String)
    case journal(operation: String, message: String)

    public var description: String {
        switch self {
        case .unreachable(let attempts):
            return "systemd is not reachable (\(attempts.joined(separator: "; "))); is this host booted with systemd?"
        case .callFailed(let method, let target, let message):
            return "systemd refused \(method) \(target): \(message)"
        case .jobFailed(let unit, let verb, let result):
            return "\(verb) \(unit) ended with result '\(result)'; see `journalctl -u \(unit)`"
        case .timedOut(let what, let after):
            return "timed out after \(after.formattedSeconds) waiting for \(what)"
        case .invalidUnitName(let name, let reason):
            return "invalid unit name '\(name)': \(reason)"
        case .relativeCommand(let unit, let program):
            if program.isEmpty { return "\(unit): no command given; give the program's absolute path first" }
            return "\(unit): '\(program)' is not an absolute path; systemd runs a program only by its full path (`command -v \(program)` finds it)"
        case .notOneshot(let unit, let type):
            return "\(unit) is Type=\(type), and only a oneshot service is waited for until it exits; start it with launch() instead, or make it a oneshot"
        case .connectionLost(let message):
            return "lost the connection to systemd: \(message)"
        case .journal(let operation, let message):
            return "journal \(operation) failed: \(message)"
        }
    }
}

extension Duration {
    /// "2.5 s", for messages.
    public var formattedSeconds: String {
        let (seconds, attoseconds) = components
        let tenths = attoseconds / 100_000_000_000_000_000
        return tenths == 0 ? "\(seconds) s" : "\(seconds).\(tenths) s"
    }

    /// Seconds as a Double, for reports.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    var microseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000 + UInt64(attoseconds / 1_000_000_000_000)
    }
}

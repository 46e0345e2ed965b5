import Systemd

/// Errors of hvctl's own flows, each worded as what failed and what to do.
public enum StackError: Error, Equatable, Sendable, CustomStringConvertible {
    case timedOut(String, after: Duration)
    case invalidValue(String, String, expected: String)
    /// The flow's job server said no (a bad name, a job of that name running already, …).
    case jobRefused(String)

    public var description: String {
        switch self {
        case .timedOut(let what, let after):
            return "\(what) did not answer within \(after.formattedSeconds)"
        case .invalidValue(let name, let value, let expected):
            return "invalid \(name) '\(value)': expected \(expected)"
        case .jobRefused(let reason):
            return reason
        }
    }
}

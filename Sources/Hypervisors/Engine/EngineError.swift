import Systemd

/// A Docker Engine API failure.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nothing answered on the socket.
    case unreachable(socket: String, reason: String)
    /// The daemon answered with an error status; `message` is its own `{"message": …}`.
    case api(status: Int, message: String)
    case timedOut(request: String, after: Duration)
    case badResponse(request: String, reason: String)

    public var description: String {
        switch self {
        case .unreachable(let socket, let reason):
            return "the Docker daemon does not answer on \(socket): \(reason)"
        case .api(let status, let message):
            return "the Docker daemon refused (HTTP \(status)): \(message)"
        case .timedOut(let request, let after):
            return "no answer from the Docker daemon to \(request) within \(after.formattedSeconds)"
        case .badResponse(let request, let reason):
            return "unexpected answer from the Docker daemon to \(request): \(reason)"
        }
    }
}

import Glibc
import NIOCore
import NIOHTTP1
import SystemPackage

/// Why an HTTP exchange over a Unix socket failed, in terms a caller can act on.
public enum UnixHTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection, or it broke: nothing (or nothing that stays) listens on the socket.
    case connection(reason: String)
    /// Something answered, but not in HTTP/1.x: the socket belongs to another program.
    case notHTTP(reason: String)
    /// The peer closed the connection before its answer was complete.
    case closedEarly
    /// The body is larger than the caller accepts.
    case bodyTooLarge(limit: Int)
    /// The answer did not begin within the caller's limit.
    case headTimedOut(after: Duration)
    /// The task waiting for the answer was cancelled.
    case cancelled

    public var description: String {
        switch self {
        case .connection(let reason): return reason
        case .notHTTP(let reason): return "not HTTP (\(reason))"
        case .closedEarly: return "the connection closed before the answer was complete"
        case .bodyTooLarge(let limit): return "the answer's body is larger than \(limit >> 20) MiB"
        case .headTimedOut(let after): return "no answer within \(after)"
        case .cancelled: return "cancelled"
        }
    }

    /// Sorts what NIO throws. An errno becomes its plain message ("Connection refused"), which
    /// is what a user can look up; NIO's own wording names its internals.
    init(_ error: any Error) {
        switch error {
        case let error as UnixHTTPError: self = error
        // The parser's word for a close inside a framed body.
        case HTTPParserError.invalidEOFState: self = .closedEarly
        case let error as HTTPParserError: self = .notHTTP(reason: "\(error)")
        case is CancellationError: self = .cancelled
        case let error as IOError: self = .connection(reason: Errno(rawValue: error.errnoCode).description)
        case ChannelError.eof, ChannelError.ioOnClosedChannel, ChannelError.outputClosed, ChannelError.alreadyClosed:
            self = .closedEarly
        default: self = .connection(reason: "\(error)")
        }
    }
}

import FoundationEssentials
import Glibc
import SystemPackage

/// What a hook's shell asks the flow's hvctl over the job socket (`hvctl job start|wait`),
/// one JSON line each way.
public struct JobRequest: Sendable, Codable, Equatable {
    public enum Operation: String, Sendable, Codable { case start, wait, waitAll = "wait-all" }
    public var operation: Operation
    public var names: [String]
    /// start: the caller's shell state at the moment of the call, and the command.
    public var state: String?
    public var command: [String]?

    public init(operation: Operation, names: [String], state: String? = nil, command: [String]? = nil) {
        self.operation = operation
        self.names = names
        self.state = state
        self.command = command
    }
}

public struct JobResponse: Sendable, Codable, Equatable {
    public struct Finished: Sendable, Codable, Equatable {
        public var name: String
        public var unit: String
        /// systemd's Result.
        public var result: String
        public var exitStatus: Int32
        public var seconds: Double
        public var lastLines: [String]?
    }

    /// Set when the request was refused or could not be done; the client prints it and fails.
    public var error: String?
    /// start: the unit the job runs as.
    public var unit: String?
    /// wait: in order, up to and including the first that failed.
    public var finished: [Finished] = []
    /// wait: names that were never started or were waited for already (DevStack says so and
    /// goes on).
    public var unknown: [String] = []

    public init(error: String? = nil, unit: String? = nil) {
        self.error = error
        self.unit = unit
    }
}

/// The client half: `hvctl job` inside a hook's unit.
public enum JobClient {
    public static func send(_ request: JobRequest, socket path: String) throws -> JobResponse {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw JobError.socket(path, Errno.current.description) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard JobSocket.fill(&address, path) else { throw JobError.socket(path, "the path is too long for a socket") }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw JobError.socket(path, Errno.current.description) }
        var data = try JSONEncoder().encode(request)
        data.append(10)
        guard JobSocket.writeAll(fd, data) else { throw JobError.socket(path, "cannot send: \(Errno.current.description)") }
        shutdown(fd, Int32(SHUT_WR))
        let answer = JobSocket.readAll(fd, limit: 1 << 20, untilNewline: true)
        guard let response = try? JSONDecoder().decode(JobResponse.self, from: answer) else {
            throw JobError.socket(path, "hvctl's flow ended or did not answer")
        }
        return response
    }
}

public enum JobError: Error, Equatable, Sendable, CustomStringConvertible {
    case socket(String, String)
    case notInAFlow

    public var description: String {
        switch self {
        case .socket(let path, let reason): return "cannot reach the flow's job socket \(path): \(reason)"
        case .notInAFlow: return "hvctl job runs inside a hook that hvctl started in DevStack mode (HVCTL_JOBS_SOCKET is not set)"
        }
    }
}

enum JobSocket {
    static func fill(_ address: inout sockaddr_un, _ path: String) -> Bool {
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return true
    }

    static func writeAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    static func readAll(_ fd: Int32, limit: Int, deadline: ContinuousClock.Instant? = nil, untilNewline: Bool = false) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while data.count < limit {
            if let deadline, ContinuousClock.now > deadline { break }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && (errno == EINTR || (deadline != nil && errno == EAGAIN)) { continue }
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
            if untilNewline && buffer[0..<n].contains(10) { break }
        }
        return data
    }
}

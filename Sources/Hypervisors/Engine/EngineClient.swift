import Core
import FoundationEssentials
import Glibc
import NIOCore
import NIOHTTP1
import SystemPackage

/// A client of the Docker Engine API over its Unix socket.
///
/// The API version is negotiated the way moby's client does: ask `/_ping` for the daemon's
/// version and use the lower of it and ours; every path is then prefixed `/v<version>`.
public struct EngineClient: Sendable {
    /// The newest API version this client speaks (Debian 12's docker.io 20.10).
    public static let maximumAPIVersion = "1.41"
    public static let defaultSocket = "/run/docker.sock"

    public let socketPath: String
    public let apiVersion: String
    public var requestTimeout: Duration

    /// Connects by pinging the daemon. A missing socket fails at once, before any I/O.
    /// `timeout` bounds the ping; `requestTimeout` every later request until its answer starts
    /// (a graceful container stop waits for the container, so it needs longer).
    public static func connect(
        socketPath: String = defaultSocket, timeout: Duration = .seconds(10), requestTimeout: Duration? = nil
    ) async throws -> EngineClient {
        let ping = try await ping(socketPath: socketPath, timeout: timeout)
        let version = Self.lower(ping.apiVersion ?? "1.24", maximumAPIVersion)
        return EngineClient(socketPath: socketPath, apiVersion: version, requestTimeout: requestTimeout ?? timeout)
    }

    public struct Ping: Sendable, Equatable {
        /// The `Api-Version` header; absent on very old daemons.
        public var apiVersion: String?
        /// The `Server` header, e.g. "Docker/20.10.24+dfsg1 (linux)".
        public var server: String?
    }

    /// GET /_ping (unversioned, as the daemon expects for negotiation).
    public static func ping(socketPath: String = defaultSocket, timeout: Duration = .seconds(10)) async throws -> Ping {
        let response = try await send(socketPath: socketPath, method: .GET, path: "/_ping", body: nil, contentType: "", timeout: timeout)
        return Ping(apiVersion: response.headers.first(name: "Api-Version"), server: response.headers.first(name: "Server"))
    }

    public struct Version: Sendable, Equatable, Decodable {
        public var Version: String
        public var ApiVersion: String
        public var MinAPIVersion: String?
        public var Os: String?
        public var Arch: String?
        public var KernelVersion: String?
    }

    /// GET /version: the engine's own version and the API range it serves.
    public func version() async throws -> Version {
        try await get("/version", as: Version.self)
    }

    /// A versioned GET whose JSON answer is decoded as `T`.
    public func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        let response = try await request(.GET, path)
        do {
            return try JSONDecoder().decode(T.self, from: response.body)
        } catch {
            throw EngineError.badResponse(request: "GET \(path)", reason: "\(error)")
        }
    }

    /// A versioned request; errors from the daemon come back as `EngineError.api` with its message.
    public func request(
        _ method: HTTPMethod, _ path: String, body: Data? = nil, contentType: String = "application/json"
    ) async throws -> Response {
        try await Self.send(
            socketPath: socketPath, method: method, path: "/v\(apiVersion)\(path)", body: body, contentType: contentType,
            timeout: requestTimeout)
    }

    /// A versioned GET whose answer streams (events, followed logs): `handle` reads the body
    /// as it arrives, until the answer ends or the task is cancelled. The head must come within
    /// `headTimeout`; the body may then be quiet for as long as it likes. Fails as `request`
    /// does: `EngineError`s with the daemon's own message, or `CancellationError`.
    public func stream(
        _ path: String, headTimeout: Duration = .seconds(30), _ handle: (UnixHTTPBody) async throws -> Void
    ) async throws {
        try Self.checkSocket(socketPath)
        let target = "/v\(apiVersion)\(path)"
        let client = UnixHTTPClient(socketPath: socketPath)
        let request = UnixHTTPClient.Request(method: .GET, target: target, headers: ["Host": "docker"])
        do {
            try await client.withResponse(to: request, headTimeout: headTimeout) { head, body in
                let status = Int(head.status.code)
                guard (200..<400).contains(status) else {
                    var collected = Data()
                    for try await chunk in body {
                        collected.append(contentsOf: chunk.readableBytesView)
                        if collected.count >= Self.maximumErrorBody { break }
                    }
                    throw EngineError.api(status: status, message: Self.message(in: collected) ?? head.status.reasonPhrase)
                }
                try await handle(body)
            }
        } catch let error as EngineError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw Self.engineError(error, socket: socketPath, request: "GET \(target)", timeout: headTimeout)
        }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: Data
    }

    // MARK: plumbing

    private static let maximumBody = 64 << 20
    /// An error's message is short; a failing stream's body is read no further than this.
    private static let maximumErrorBody = 64 << 10

    /// Said before any I/O: a regular file, FIFO, device or directory at the path would
    /// otherwise wait out the timeout and end as "Connection refused".
    private static func checkSocket(_ socketPath: String) throws {
        var st = stat()
        guard stat(socketPath, &st) == 0 else {
            throw EngineError.unreachable(socket: socketPath, reason: errno == ENOENT ? "no such socket (is docker.service running?)" : Errno.current.description)
        }
        guard st.st_mode & S_IFMT == S_IFSOCK else {
            throw EngineError.unreachable(socket: socketPath, reason: "it is not a socket (it is \(AtomicFile.kind(st.st_mode))); pass --docker-socket with the Engine's socket")
        }
    }

    private static func send(
        socketPath: String, method: HTTPMethod, path: String, body: Data?, contentType: String, timeout: Duration
    ) async throws -> Response {
        try checkSocket(socketPath)
        var request = UnixHTTPClient.Request(method: method, target: path, headers: ["Host": "docker"])
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = ByteBuffer(bytes: body)
        }
        let what = "\(method.rawValue) \(path)"
        let client = UnixHTTPClient(socketPath: socketPath)
        let response: UnixHTTPClient.Response
        do {
            // One deadline from connect to the body's last byte: a body that trickles in (a
            // wedged daemon, or not a daemon at all) is bounded as well as a silent one.
            let sent = request
            response = try await withDeadline(timeout, what) { try await client.execute(sent, bodyLimit: maximumBody) }
        } catch is DeadlineExceeded {
            throw EngineError.timedOut(request: what, after: timeout)
        } catch {
            throw engineError(error, socket: socketPath, request: what, timeout: timeout)
        }
        let status = Int(response.status.code)
        let collected = Data(response.body.readableBytesView)
        guard (200..<400).contains(status) else {
            throw EngineError.api(status: status, message: Self.message(in: collected) ?? response.status.reasonPhrase)
        }
        return Response(status: status, headers: response.headers, body: collected)
    }

    /// An HTTP failure in the Engine's terms: what was asked, of which socket.
    static func engineError(_ error: any Error, socket: String, request what: String, timeout: Duration) -> any Error {
        switch error as? UnixHTTPError ?? UnixHTTPError(error) {
        case .connection(let reason): return EngineError.unreachable(socket: socket, reason: reason)
        case .closedEarly: return EngineError.unreachable(socket: socket, reason: UnixHTTPError.closedEarly.description)
        case .notHTTP(let reason):
            // Something answers on the socket, but not in HTTP.
            return EngineError.badResponse(request: what, reason: "not HTTP (\(reason)); is \(socket) the Docker Engine's socket?")
        case .bodyTooLarge: return EngineError.badResponse(request: what, reason: "\(error)")
        case .headTimedOut: return EngineError.timedOut(request: what, after: timeout)
        case .cancelled: return CancellationError()
        }
    }

    /// The daemon's `{"message": "..."}`, or the body itself when it is short plain text.
    private static func message(in body: Data) -> String? {
        struct Message: Decodable { var message: String }
        if let m = try? JSONDecoder().decode(Message.self, from: body) {
            return m.message
        }
        let text = String(decoding: body, as: UTF8.self).trimmingSpacesAndNewlines()
        return text.isEmpty || text.count > 500 ? nil : text
    }

    /// The lower of two "major.minor" API versions.
    public static func lower(_ a: String, _ b: String) -> String {
        func parts(_ v: String) -> [Int] { v.split(separator: ".").map { Int($0) ?? 0 } }
        return parts(a).lexicographicallyPrecedes(parts(b)) ? a : b
    }
}

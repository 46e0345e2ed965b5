import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP/1.1 client of one Unix socket, such as a container engine's API.
///
/// Every request gets a connection of its own, closed when its answer ends. On a local socket a
/// connection costs microseconds, and without a pool there is nothing to shut down, no limit
/// on parallel requests but the daemon's own, and no request waits for another's connection.
///
/// The exchange is a pipeline of NIO's HTTP client codec and an `NIOAsyncChannel`; an
/// upgraded connection (Docker's attach answers `101` and then speaks raw bytes) would set up
/// the same channel with NIO's typed client upgrade handler instead of the plain codec.
public struct UnixHTTPClient: Sendable {
    public var socketPath: String
    public var eventLoopGroup: any EventLoopGroup

    public init(socketPath: String, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.socketPath = socketPath
        self.eventLoopGroup = eventLoopGroup
    }

    public struct Request: Sendable {
        public var method: HTTPMethod
        /// The path and query, e.g. "/v1.41/containers/json?all=1".
        public var target: String
        public var headers: HTTPHeaders
        public var body: ByteBuffer?

        public init(method: HTTPMethod, target: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil) {
            self.method = method
            self.target = target
            self.headers = headers
            self.body = body
        }
    }

    /// A whole answer, its body collected.
    public struct Response: Sendable {
        public var status: HTTPResponseStatus
        public var headers: HTTPHeaders
        public var body: ByteBuffer
    }

    /// Sends `request` and collects the answer, refusing a body over `bodyLimit` bytes. It
    /// waits as long as the daemon takes: bound it with the caller's own deadline.
    public func execute(_ request: Request, bodyLimit: Int) async throws(UnixHTTPError) -> Response {
        do {
            return try await withResponse(to: request) { head, body in
                var collected = ByteBuffer()
                for try await chunk in body {
                    guard chunk.readableBytes <= bodyLimit - collected.readableBytes else {
                        throw UnixHTTPError.bodyTooLarge(limit: bodyLimit)
                    }
                    collected.writeImmutableBuffer(chunk)
                }
                return Response(status: head.status, headers: head.headers, body: collected)
            }
        } catch {
            throw UnixHTTPError(error)
        }
    }

    /// Sends `request` and hands its answer to `handle` as it arrives: the head, then a body
    /// that streams until the answer ends. The connection closes when `handle` returns or
    /// throws; cancelling the task ends a body that would never end by itself.
    ///
    /// Throws `UnixHTTPError`, or what `handle` throws. `headTimeout` bounds the wait for
    /// the head only, so a stream that is quiet for long is not cut.
    public func withResponse<Result: Sendable>(
        to request: Request, headTimeout: Duration? = nil,
        _ handle: (HTTPResponseHead, UnixHTTPBody) async throws -> Result
    ) async throws -> Result {
        let channel = try await connect()
        return try await channel.executeThenClose { inbound, outbound in
            // A peer may answer and close before it has read the whole request (garbage from
            // a program that is no daemon, an early error): what it said explains more than
            // the failed write, so the answer is read first.
            var writeError: UnixHTTPError?
            do {
                try await outbound.write(contentsOf: Self.parts(of: request))
            } catch {
                writeError = UnixHTTPError(error)
            }
            var parts = inbound.makeAsyncIterator()
            let responseHead: HTTPResponseHead
            do {
                responseHead = try await Self.head(from: &parts, on: channel.channel, within: headTimeout)
            } catch UnixHTTPError.closedEarly where writeError != nil {
                throw writeError!
            }
            return try await handle(responseHead, UnixHTTPBody(parts: parts))
        }
    }

    private static func parts(of request: Request) -> [HTTPClientRequestPart] {
        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.target, headers: request.headers)
        // One exchange per connection, said to the peer so it need not keep it open.
        if !head.headers.contains(name: "Connection") { head.headers.add(name: "Connection", value: "close") }
        if let body = request.body {
            head.headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        } else if [.POST, .PUT, .PATCH].contains(request.method) {
            // Else NIO frames an empty body as chunked, which some daemons read as a body to come.
            head.headers.replaceOrAdd(name: "Content-Length", value: "0")
        }
        guard let body = request.body else { return [.head(head), .end(nil)] }
        return [.head(head), .body(.byteBuffer(body)), .end(nil)]
    }

    private func connect() async throws(UnixHTTPError) -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart> {
        do {
            return try await ClientBootstrap(group: eventLoopGroup).connect(unixDomainSocketPath: socketPath) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        } catch {
            throw UnixHTTPError(error)
        }
    }

    /// The answer's head, skipping interim `1xx` heads other than `101`. A limit fails the
    /// pipeline with `headTimedOut`, which the inbound stream then throws.
    private static func head(
        from parts: inout NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator,
        on channel: any Channel, within limit: Duration?
    ) async throws(UnixHTTPError) -> HTTPResponseHead {
        let timer = limit.map { limit in
            let nanoseconds = limit.components.seconds * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000
            return channel.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
                channel.pipeline.fireErrorCaught(UnixHTTPError.headTimedOut(after: limit))
            }
        }
        defer { timer?.cancel() }
        while true {
            let part: HTTPClientResponsePart?
            do { part = try await parts.next() } catch { throw UnixHTTPError(error) }
            switch part {
            case .head(let head) where head.status.code >= 200 || head.status == .switchingProtocols:
                return head
            case .head:
                continue
            case .body, .end:
                throw .notHTTP(reason: "a body before the response head")
            case nil:
                throw .closedEarly
            }
        }
    }
}

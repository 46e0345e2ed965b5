import FoundationEssentials
import NIOCore
import NIOHTTP1

/// The Engine API's streaming answers: container logs (multiplexed) and events.
extension EngineClient {
    public enum LogStream: UInt8, Sendable, Codable { case stdin = 0, stdout = 1, stderr = 2 }

    public struct LogFrame: Sendable, Equatable {
        public var stream: LogStream
        public var bytes: [UInt8]
        public var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// Splits Docker's multiplexed log stream: frames of an 8-byte header
    /// {stream, 0, 0, 0, size as big-endian UInt32} and `size` bytes, which may straddle the
    /// chunks the body arrives in. Keeps the unfinished tail in `buffer`.
    public struct LogDemultiplexer: Sendable {
        var buffer: [UInt8] = []
        public init() {}

        public mutating func feed(_ bytes: some Sequence<UInt8>) -> [LogFrame] {
            buffer.append(contentsOf: bytes)
            var frames: [LogFrame] = []
            var offset = 0
            while buffer.count - offset >= 8 {
                let size = buffer[(offset + 4)..<(offset + 8)].reduce(0) { $0 << 8 | Int($1) }
                guard buffer.count - offset - 8 >= size else { break }
                let stream = LogStream(rawValue: buffer[offset]) ?? .stdout
                frames.append(LogFrame(stream: stream, bytes: Array(buffer[(offset + 8)..<(offset + 8 + size)])))
                offset += 8 + size
            }
            buffer.removeFirst(offset)
            return frames
        }

        /// Bytes of a frame not yet complete.
        public var pending: Int { buffer.count }
    }

    /// A container's output so far (non-TTY containers), as frames in order.
    public func logs(_ container: String, tail: Int? = nil) async throws -> [LogFrame] {
        var path = "/containers/\(Self.percentEncoded(container))/logs?stdout=1&stderr=1"
        if let tail { path += "&tail=\(tail)" }
        let response = try await request(.GET, path)
        var demux = LogDemultiplexer()
        return demux.feed(response.body)
    }

    public struct Event: Decodable, Sendable, Equatable {
        public struct Actor: Decodable, Sendable, Equatable {
            public var ID: String
            public var Attributes: [String: String]?
        }
        public var `Type`: String
        public var Action: String
        public var Actor: Actor
        public var time: Int
    }

    /// Events between `since` and `until` (Unix seconds), filtered by labels; each line of the
    /// streamed body decoded as it arrives. Without `until` the stream never ends: cancel the
    /// consuming task to stop it.
    public func events(since: Int, until: Int?, labels: [String] = []) -> AsyncThrowingStream<Event, any Error> {
        var path = "/v\(apiVersion)/events?since=\(since)"
        if let until { path += "&until=\(until)" }
        if !labels.isEmpty { path += "&" + Self.labelFilter(labels) }
        let client = UnixHTTPClient(socketPath: socketPath)
        let request = UnixHTTPClient.Request(method: .GET, target: path, headers: ["Host": "docker"])
        let what = "GET \(path)"
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    // The head within 30 s; the events then come when they happen.
                    try await client.withResponse(to: request, headTimeout: .seconds(30)) { head, body in
                        guard head.status == .ok else {
                            throw EngineError.api(status: Int(head.status.code), message: head.status.reasonPhrase)
                        }
                        var pending: [UInt8] = []
                        for try await chunk in body {
                            pending.append(contentsOf: chunk.readableBytesView)
                            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                                let line = Data(pending[..<newline])
                                pending.removeFirst(newline + 1)
                                if let event = try? JSONDecoder().decode(Event.self, from: line) { continuation.yield(event) }
                            }
                        }
                    }
                    continuation.finish()
                } catch let error as EngineError {
                    continuation.finish(throwing: error)
                } catch {
                    continuation.finish(throwing: Self.engineError(error, socket: client.socketPath, request: what, timeout: .seconds(30)))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

extension EngineClient {
    /// A container's output as it comes (`follow=1`), until the container stops or the task
    /// is cancelled: frames in order, each handed to `frame`.
    public func followLogs(_ container: String, tail: Int?, _ frame: @escaping @Sendable (LogFrame) -> Void) async throws {
        var path = "/v\(apiVersion)/containers/\(Self.percentEncoded(container))/logs?stdout=1&stderr=1&follow=1"
        if let tail { path += "&tail=\(tail)" }
        let client = UnixHTTPClient(socketPath: socketPath)
        let request = UnixHTTPClient.Request(method: .GET, target: path, headers: ["Host": "docker"])
        do {
            // The head within 30 s; the output then comes when the container writes it.
            try await client.withResponse(to: request, headTimeout: .seconds(30)) { head, body in
                guard head.status == .ok else {
                    throw EngineError.api(status: Int(head.status.code), message: head.status.reasonPhrase)
                }
                var demux = LogDemultiplexer()
                for try await chunk in body {
                    for f in demux.feed(chunk.readableBytesView) { frame(f) }
                }
            }
        } catch let error as EngineError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw Self.engineError(error, socket: client.socketPath, request: "GET \(path)", timeout: .seconds(30))
        }
    }
}

import FoundationEssentials
import NIOCore

/// A container's output through the Engine API: multiplexed frames, collected or followed.
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

    /// A container's output as it comes (`follow=1`), until the container stops or the task
    /// is cancelled: frames in order, each handed to `frame`.
    public func followLogs(_ container: String, tail: Int?, _ frame: @escaping @Sendable (LogFrame) -> Void) async throws {
        var path = "/containers/\(Self.percentEncoded(container))/logs?stdout=1&stderr=1&follow=1"
        if let tail { path += "&tail=\(tail)" }
        try await stream(path) { body in
            var demux = LogDemultiplexer()
            for try await chunk in body {
                for f in demux.feed(chunk.readableBytesView) { frame(f) }
            }
        }
    }
}

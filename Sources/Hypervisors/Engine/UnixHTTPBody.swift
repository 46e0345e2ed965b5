import NIOCore
import NIOHTTP1

/// A response's body as it arrives, chunk by chunk; the stream ends with the response.
///
/// It reads the connection's one inbound stream, so it can be iterated once, inside the
/// `UnixHTTPClient.withResponse` call that made it.
public struct UnixHTTPBody: AsyncSequence {
    public typealias Element = ByteBuffer
    public typealias Failure = UnixHTTPError

    var parts: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(parts: parts) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var parts: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
        var ended = false

        public mutating func next() async throws(UnixHTTPError) -> ByteBuffer? {
            guard !ended else { return nil }
            let part: HTTPClientResponsePart?
            do { part = try await parts.next() } catch { throw UnixHTTPError(error) }
            switch part {
            case .body(let bytes):
                return bytes
            case .end:
                ended = true
                return nil
            case .head:
                throw .notHTTP(reason: "a second response head inside a body")
            case nil:
                // Framed bodies end with `.end` even when the peer closes right after; a close
                // without it cut the body short.
                throw .closedEarly
            }
        }
    }
}

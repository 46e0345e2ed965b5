import Core
import Glibc
import Synchronization
import SystemPackage

/// A container's stdin, stdout and stderr through the Engine API's attach: the daemon answers
/// `POST /containers/ID/attach` with `101 UPGRADED` and the connection then carries raw bytes,
/// the container's output multiplexed in frames (it has no TTY). On a socket of its own,
/// outside the HTTP client: after the answer it is no longer HTTP.
///
/// Sendable: `fd` is immutable; the frame buffer is behind a Mutex (only the reading thread
/// uses it, but nothing rests on that).
public final class EngineAttachment: Sendable {
    private let fd: Int32
    private let frames = Mutex(EngineClient.LogDemultiplexer())

    private init(fd: Int32) { self.fd = fd }

    /// Connects and asks to attach; the daemon's answer must come within `timeout`.
    static func open(socket: String, apiVersion: String, container: String, timeout: Duration) throws -> EngineAttachment {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw EngineError.unreachable(socket: socket, reason: Errno.current.description) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socket.utf8)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw EngineError.unreachable(socket: socket, reason: "the socket path is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path + [0]) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let reason = Errno.current.description
            close(fd)
            throw EngineError.unreachable(socket: socket, reason: reason)
        }
        let attachment = EngineAttachment(fd: fd)
        let target = "/v\(apiVersion)/containers/\(EngineClient.percentEncoded(container))/attach?stream=1&stdin=1&stdout=1&stderr=1"
        let request = "POST \(target) HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
        guard attachment.send(Array(request.utf8)) else { throw EngineError.unreachable(socket: socket, reason: "the daemon closed the connection") }
        let head = try attachment.readHead(timeout: timeout, what: "POST \(target)")
        let status = head.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        guard status == 101 || status == 200 else {
            throw EngineError.api(status: status, message: head.split(separator: "\r\n").first.map(String.init) ?? "no answer")
        }
        return attachment
    }

    /// The answer's head, byte by byte up to its blank line: what follows is the stream.
    private func readHead(timeout: Duration, what: String) throws -> String {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var head: [UInt8] = []
        while !head.ends(with: Array("\r\n\r\n".utf8)) {
            guard head.count < 16 << 10 else { throw EngineError.badResponse(request: what, reason: "an answer head over 16 KiB") }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw EngineError.timedOut(request: what, after: timeout) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            var byte: UInt8 = 0
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            guard n == 1 else { throw EngineError.badResponse(request: what, reason: "the daemon closed the connection before answering") }
            head.append(byte)
        }
        return String(decoding: head, as: UTF8.self)
    }

    /// The container's next output, blocking; nil once the stream ended.
    public func receive() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            let out = frames.withLock { $0.feed(buffer[0..<n]) }.flatMap(\.bytes)
            if !out.isEmpty { return out }
        }
    }

    /// Hands `bytes` to the container's stdin; false once the connection closed.
    public func send(_ bytes: [UInt8]) -> Bool {
        // SIGPIPE is ignored by hvctl: a closed connection is an EPIPE here.
        FileDescriptorWriting.writeAll(fd, bytes) == nil
    }

    /// Ends the session: a `receive` blocked meanwhile returns nil.
    public func interrupt() {
        shutdown(fd, Int32(SHUT_RDWR))
    }

    deinit { close(fd) }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}

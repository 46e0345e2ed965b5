import Glibc

/// Asks journald to take in everything already sent to it (`journalctl --sync`), over its
/// varlink socket.
///
/// A unit's output reaches journald through a stream socket that journald reads on its own
/// time, while hvctl's markers go through the datagram socket: without this, a run's end
/// marker can land in the journal before the last lines of its last hook, and a reader
/// stopping at the marker (`hvctl logs -f`) would miss them.
public enum JournalSync {
    static let socket = "/run/systemd/journal/io.systemd.journal"

    /// Best effort, at most `limit`: false when journald could not be asked or did not answer.
    @discardableResult
    public static func synchronize(limit: Duration = .seconds(2)) -> Bool {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socket.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.enumerated() where i < raw.count - 1 { raw[i] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { return false }
        var timeout = timeval(tv_sec: Int(limit.components.seconds), tv_usec: Int(limit.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // Varlink: one JSON object, NUL-terminated; the reply ends with a NUL as well.
        let request = Array(#"{"method":"io.systemd.Journal.Synchronize","parameters":{}}"#.utf8) + [0]
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return false }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while !reply.contains(0) {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return false }
            reply += buffer[0..<n]
        }
        return !String(decoding: reply, as: UTF8.self).contains("\"error\"")
    }
}

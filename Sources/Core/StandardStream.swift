import Glibc

/// Standard output or error, written straight to the descriptor: nothing waits in a buffer,
/// so progress shows as it happens even through a pipe and a crash loses no line.
public enum StandardStream: Int32, Sendable {
    case output = 1
    case error = 2

    /// Writes all of `text`. A reader that went away (EPIPE, SIGPIPE being ignored) loses it;
    /// that is no reason to fail the command.
    public func write(_ text: String) {
        _ = FileDescriptorWriting.writeAll(rawValue, Array(text.utf8))
    }
}

/// A whole buffer to a file descriptor.
public enum FileDescriptorWriting {
    /// Writes all of `bytes` to `fd`, through short writes and EINTR; nil, or the errno of
    /// the write that failed.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += n
        }
        return nil
    }
}

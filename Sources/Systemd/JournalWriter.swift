import CSystemd
import Glibc

/// Writes structured entries to journald (sd_journal_sendv: no handle, safe from any thread).
public enum JournalWriter {
    /// syslog priorities, as journald stores them in PRIORITY.
    public enum Priority: Int, Sendable {
        case emergency = 0, alert, critical, error, warning, notice, info, debug
    }

    /// Sends MESSAGE with `fields` (upper-case names); returns false when journald is not
    /// there, which is never an error worth failing a command for.
    @discardableResult
    public static func send(
        _ message: String, priority: Priority = .info, identifier: String = "hvctl", fields: [String: String] = [:]
    ) -> Bool {
        var entries = ["MESSAGE=\(message)", "PRIORITY=\(priority.rawValue)", "SYSLOG_IDENTIFIER=\(identifier)"]
        entries += fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let buffers = entries.map { Array($0.utf8) }
        return buffers.withUnsafeIOVecs { iov in sd_journal_sendv(iov.baseAddress, Int32(iov.count)) >= 0 }
    }
}

extension Array where Element == [UInt8] {
    /// iovecs pointing into each buffer, valid only inside `body`.
    fileprivate func withUnsafeIOVecs<R>(_ body: (UnsafeBufferPointer<iovec>) -> R) -> R {
        var iovecs: [iovec] = []
        iovecs.reserveCapacity(count)
        func nest(_ index: Int) -> R {
            if index == count { return iovecs.withUnsafeBufferPointer(body) }
            return self[index].withUnsafeBytes { raw in
                iovecs.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress), iov_len: raw.count))
                return nest(index + 1)
            }
        }
        return nest(0)
    }
}

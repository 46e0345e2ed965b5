import FoundationEssentials
import Glibc

/// A process as pid plus start time (/proc/PID/stat field 22), so a pid the kernel has
/// handed to someone else since is not mistaken for the original.
public struct ProcessIdentity: Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var startTime: UInt64

    public static var current: ProcessIdentity {
        ProcessIdentity(pid: getpid(), startTime: startTime(of: getpid()) ?? 0)
    }

    /// "PID:STARTTIME", as passed to a reaper unit.
    public var description: String { "\(pid):\(startTime)" }

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let pid = Int32(parts[0]), pid > 0, let start = UInt64(parts[1]) else { return nil }
        self.init(pid: pid, startTime: start)
    }

    public var isAlive: Bool { Self.startTime(of: pid) == startTime }

    static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)": field 3 is the state, so the start time (field 22) is the 20th.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}

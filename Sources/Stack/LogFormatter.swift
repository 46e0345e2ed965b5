import Core
import FoundationEssentials
import Glibc
import Systemd

public enum LogFormat: String, CaseIterable, Sendable {
    case short, shortPrecise = "short-precise", json, cat
}

/// Turns log lines into bytes, fast enough for hundreds of thousands of lines: timestamps
/// are formatted once per second of log, not per line, and nothing goes through Foundation's
/// date formatting.
public struct LogFormatter {
    public var format: LogFormat
    private var cachedSecond: Int = -1
    private var cachedStamp: [UInt8] = []
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    public init(format: LogFormat) {
        self.format = format
    }

    public mutating func append(_ line: LogLine, to out: inout [UInt8]) {
        let e = line.entry
        switch format {
        case .cat:
            out += e.message.utf8
        case .json:
            // Written by hand: JSONSerialization per line was 10x slower than journalctl.
            var object = e.fields
            object["__REALTIME_TIMESTAMP"] = String(e.realtimeMicroseconds)
            if !e.cursor.isEmpty { object["__CURSOR"] = e.cursor }
            out.append(UInt8(ascii: "{"))
            for (i, key) in object.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.jsonString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                Self.jsonString(object[key]!, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .short, .shortPrecise:
            stamp(e.realtimeMicroseconds, precise: format == .shortPrecise, into: &out)
            out.append(32)
            if let hook = line.hook {
                out += hook.utf8
                if let mode = line.mode {
                    out.append(32)
                    out += mode.utf8
                    if mode == "stack", let phase = line.phase {
                        out.append(32)
                        out += phase.utf8
                    }
                }
            } else {
                out += (e["SYSLOG_IDENTIFIER"] ?? e["_SYSTEMD_UNIT"] ?? "unknown").utf8
                if let pid = e["_PID"] { out += "[\(pid)]".utf8 }
            }
            out += ": ".utf8
            out += e.message.utf8
        }
        out.append(10)
    }

    static func jsonString(_ s: String, into out: inout [UInt8]) {
        out.append(34)
        for byte in s.utf8 {
            switch byte {
            case 34: out += [92, 34]
            case 92: out += [92, 92]
            case 10: out += [92, 110]
            case 13: out += [92, 114]
            case 9: out += [92, 116]
            case 0..<32:
                let hex = Array("0123456789abcdef".utf8)
                out += [92, 117, 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(34)
    }

    /// "Nov 24 22:57:29" (local time), plus ".123456" when precise.
    private mutating func stamp(_ usec: UInt64, precise: Bool, into out: inout [UInt8]) {
        let second = Int(usec / 1_000_000)
        if second != cachedSecond {
            var t = time_t(second)
            var tm = tm()
            localtime_r(&t, &tm)
            func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
            cachedStamp = Array("\(Self.months[Int(tm.tm_mon)]) \(two(tm.tm_mday)) \(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec))".utf8)
            cachedSecond = second
        }
        out += cachedStamp
        if precise {
            let micro = String(usec % 1_000_000)
            out.append(46)
            out += Array(repeating: UInt8(48), count: 6 - micro.count)
            out += micro.utf8
        }
    }
}

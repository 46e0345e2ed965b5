import Core
import FoundationEssentials
import Glibc

/// Parses journalctl-style times into microseconds since the epoch.
public enum LogTime {
    public static func parse(_ text: String, now: Date = Date()) throws -> UInt64 {
        let nowUsec = UInt64(now.timeIntervalSince1970 * 1_000_000)
        let t = text.trimmingSpaces()
        switch t {
        case "now": return nowUsec
        case "today": return try midnight(now, offsetDays: 0)
        case "yesterday": return try midnight(now, offsetDays: -1)
        case "tomorrow": return try midnight(now, offsetDays: 1)
        default: break
        }
        if let first = t.first, first == "-" || first == "+" {
            let seconds = try relativeSeconds(String(t.dropFirst()), original: text)
            let delta = UInt64(seconds * 1_000_000)
            return first == "-" ? (nowUsec > delta ? nowUsec - delta : 0) : nowUsec + delta
        }
        if t.hasSuffix(" ago") {
            let seconds = try relativeSeconds(String(t.dropLast(4)), original: text)
            return nowUsec - min(nowUsec, UInt64(seconds * 1_000_000))
        }
        return try absolute(t, now: now, original: text)
    }

    /// "1h30min", "10s", "2d" → seconds.
    static func relativeSeconds(_ s: String, original: String) throws -> Double {
        let units: [(String, Double)] = [
            ("usec", 1e-6), ("msec", 1e-3), ("seconds", 1), ("second", 1), ("sec", 1), ("s", 1),
            ("minutes", 60), ("minute", 60), ("min", 60), ("m", 60), ("hours", 3600), ("hour", 3600), ("h", 3600),
            ("days", 86400), ("day", 86400), ("d", 86400), ("weeks", 604800), ("week", 604800), ("w", 604800),
        ]
        var rest = Substring(s.replacingEvery(" ", with: ""))
        var total = 0.0
        guard !rest.isEmpty else { throw LogError.badTime(original) }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard let n = Double(digits) else { throw LogError.badTime(original) }
            rest = rest.dropFirst(digits.count)
            guard let (unit, factor) = units.first(where: { rest.hasPrefix($0.0) }) else {
                if rest.isEmpty { total += n; break }  // bare number: seconds
                throw LogError.badTime(original)
            }
            total += n * factor
            rest = rest.dropFirst(unit.count)
        }
        return total
    }

    static func midnight(_ now: Date, offsetDays: Int) throws -> UInt64 {
        var t = time_t(now.timeIntervalSince1970)
        var tm = tm()
        localtime_r(&t, &tm)
        tm.tm_hour = 0
        tm.tm_min = 0
        tm.tm_sec = 0
        tm.tm_mday += Int32(offsetDays)
        tm.tm_isdst = -1
        return UInt64(mktime(&tm)) * 1_000_000
    }

    static func absolute(_ t: String, now: Date, original: String) throws -> UInt64 {
        var tm = tm()
        var nowT = time_t(now.timeIntervalSince1970)
        localtime_r(&nowT, &tm)
        let parts = t.split(separator: " ")
        var datePart: Substring? = nil
        var timePart: Substring? = nil
        switch parts.count {
        case 1: if parts[0].contains("-") { datePart = parts[0] } else { timePart = parts[0] }
        case 2: datePart = parts[0]; timePart = parts[1]
        default: throw LogError.badTime(original)
        }
        if let d = datePart {
            let f = d.split(separator: "-").map { Int32($0) }
            guard f.count == 3, let y = f[0], let mo = f[1], let da = f[2], (1...12).contains(mo), (1...31).contains(da) else {
                throw LogError.badTime(original)
            }
            tm.tm_year = y - 1900
            tm.tm_mon = mo - 1
            tm.tm_mday = da
            tm.tm_hour = 0; tm.tm_min = 0; tm.tm_sec = 0
        }
        if let tp = timePart {
            let f = tp.split(separator: ":").map { Int32($0) }
            guard (2...3).contains(f.count), f.allSatisfy({ $0 != nil }), (0...23).contains(f[0]!), (0...59).contains(f[1]!),
                f.count == 2 || (0...60).contains(f[2]!)
            else { throw LogError.badTime(original) }
            tm.tm_hour = f[0]!
            tm.tm_min = f[1]!
            tm.tm_sec = f.count == 3 ? f[2]! : 0
        }
        tm.tm_isdst = -1
        let seconds = mktime(&tm)
        guard seconds >= 0 else { throw LogError.badTime(original) }
        return UInt64(seconds) * 1_000_000
    }
}

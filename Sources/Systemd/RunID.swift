/// The id of one hvctl command that changes something: in every unit name, journal field and
/// resource label that command makes, so its work can be found and cleaned up.
public struct RunID: Sendable, Hashable, Codable, CustomStringConvertible {
    public let value: String

    /// 10 lower-case hex digits: short enough for unit names, unique enough for a host.
    public static func generate() -> RunID {
        var g = SystemRandomNumberGenerator()
        let n = g.next() & 0xff_ffff_ffff
        let hex = String(n, radix: 16)
        return RunID(unchecked: String(repeating: "0", count: 10 - hex.count) + hex)
    }

    /// Accepts 1–32 lower-case letters, digits and '_' (they go into unit names unescaped).
    public init?(_ value: String) {
        guard (1...32).contains(value.utf8.count),
            value.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) || $0 == 95 })
        else { return nil }
        self.value = value
    }

    private init(unchecked value: String) { self.value = value }

    public var description: String { value }
}

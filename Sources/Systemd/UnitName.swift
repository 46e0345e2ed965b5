/// systemd's unit-name rules (src/basic/unit-name.c), so hvctl refuses a bad name before
/// systemd does and never lets a user-supplied string change which unit is addressed.
public enum UnitName {
    static let maxLength = 255
    static let suffixes: Set<String> = [
        "service", "socket", "target", "device", "mount", "automount", "swap", "timer", "path", "slice", "scope",
    ]

    /// Why `name` is not a valid unit name, or nil when it is.
    public static func problem(with name: String) -> String? {
        if name.isEmpty { return "it is empty" }
        if name.utf8.count > maxLength { return "it is longer than \(maxLength) bytes" }
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else {
            return "it needs a type suffix such as .service"
        }
        let suffix = String(name[name.index(after: dot)...])
        if !suffixes.contains(suffix) { return "'.\(suffix)' is not a unit type" }
        if name.first == "@" { return "it starts with '@'" }
        for byte in name.utf8 where !isValid(byte) && byte != UInt8(ascii: "@") {
            return "byte 0x\(String(byte, radix: 16)) is not allowed (letters, digits, ':-_.\\@' only)"
        }
        return nil
    }

    public static func isValid(_ name: String) -> Bool { problem(with: name) == nil }

    /// `systemd-escape` for one name component: '/' becomes '-', anything outside systemd's set
    /// (and '-', '\', a leading '.') becomes \xNN.
    public static func escape(_ component: String) -> String {
        var out = ""
        for (i, byte) in component.utf8.enumerated() {
            if byte == UInt8(ascii: "/") {
                out.append("-")
            } else if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "\\") || !isValid(byte)
                || (i == 0 && byte == UInt8(ascii: "."))
            {
                out += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            } else {
                out.append(Character(Unicode.Scalar(byte)))
            }
        }
        return out
    }

    /// `systemd-escape --unescape` (unit_name_unescape): '-' becomes '/', \xNN its byte; nil
    /// for a malformed escape. Undoes `escape` for any string.
    public static func unescape(_ escaped: String) -> String? {
        var bytes: [UInt8] = []
        var input = escaped.utf8[...]
        while let byte = input.popFirst() {
            switch byte {
            case UInt8(ascii: "-"):
                bytes.append(UInt8(ascii: "/"))
            case UInt8(ascii: "\\"):
                guard input.popFirst() == UInt8(ascii: "x"), let high = input.popFirst().flatMap(hexValue),
                    let low = input.popFirst().flatMap(hexValue)
                else { return nil }
                bytes.append(high << 4 | low)
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func isValid(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: ":"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "\\"):
            return true
        default:
            return false
        }
    }

    /// The D-Bus object path systemd gives a unit (bus-label escaping of the name).
    static func objectPath(_ name: String) -> String {
        var out = "/org/freedesktop/systemd1/unit/"
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                out += "_" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return out
    }
}

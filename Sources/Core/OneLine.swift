/// Text made safe to quote inside a one-line message: control characters (a newline in a
/// file name, say) are written as escapes — \n, \t, \r, \xNN — so an error stays one line.
public enum OneLine {
    public static func escaping(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0a: out += "\\n"
            case 0x09: out += "\\t"
            case 0x0d: out += "\\r"
            case 0..<0x20, 0x7f: out += "\\x" + (scalar.value < 16 ? "0" : "") + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// The grammar of hook file names, checked before anything runs.
public enum HookName {
    /// What a `.sh` file name is to hvctl.
    public enum Verdict: Equatable, Sendable {
        case hook(order: Int, name: String)
        /// 00–09 and 90–99 belong to hvctl itself, as they did to DevStack.
        case reserved(order: Int)
        /// A `.sh` file DevStack would have run but that does not follow `NN-name.sh`.
        case malformed(reason: String)
    }

    /// Classifies a file name ending in ".sh".
    public static func classify(_ file: String) -> Verdict {
        let bytes = Array(file.utf8)
        guard bytes.count > 3, file.hasSuffix(".sh") else { return .malformed(reason: "it does not end in .sh") }
        guard bytes.count >= 6, isDigit(bytes[0]), isDigit(bytes[1]), bytes[2] == UInt8(ascii: "-") else {
            return .malformed(reason: "it does not start with a two-digit order and a dash (NN-name.sh)")
        }
        let order = Int(bytes[0] - 48) * 10 + Int(bytes[1] - 48)
        let name = bytes[3..<(bytes.count - 3)]
        guard !name.isEmpty else { return .malformed(reason: "it has no name after the order prefix") }
        for byte in name where !isNameByte(byte) {
            return .malformed(reason: "its name may hold only letters, digits, '.', '_' and '-'")
        }
        if order < 10 || order > 89 { return .reserved(order: order) }
        return .hook(order: order, name: String(decoding: name, as: UTF8.self))
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

    private static func isNameByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}

/// Trimming by Unicode scalar, as Foundation's `trimmingCharacters(in:)` does, without the
/// Foundation module that brings ICU's 30 MB of data into the binary.
extension StringProtocol {
    /// Without leading and trailing spaces, tabs and newlines (Unicode White_Space):
    /// Foundation's `.whitespacesAndNewlines`.
    public func trimmingSpacesAndNewlines() -> String {
        trimmingScalars { $0.properties.isWhitespace }
    }

    /// Without leading and trailing spaces and tabs, newlines kept (Unicode Zs and U+0009):
    /// Foundation's `.whitespaces`.
    public func trimmingSpaces() -> String {
        trimmingScalars { $0 == "\t" || $0.properties.generalCategory == .spaceSeparator }
    }

    /// Without the leading and trailing scalars that `trimmed` picks.
    public func trimmingScalars(_ trimmed: (Unicode.Scalar) -> Bool) -> String {
        let text = String(self)
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !trimmed($0) }), let last = scalars.lastIndex(where: { !trimmed($0) }) else {
            return ""
        }
        return String(scalars[first...last])
    }
}

extension StringProtocol {
    /// Every occurrence of `target` replaced, matched scalar by scalar as Foundation's
    /// `replacingOccurrences(of:with:)` does: a "\n" inside a "\r\n" is found too, where
    /// the standard library's `replacing` compares whole characters.
    public func replacingEvery(_ target: String, with replacement: String) -> String {
        let pattern = Array(target.unicodeScalars)
        guard !pattern.isEmpty else { return String(self) }
        let scalars = Array(unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            if scalars[i] == pattern[0], scalars.count - i >= pattern.count, scalars[i..<(i + pattern.count)].elementsEqual(pattern) {
                out.append(contentsOf: replacement.unicodeScalars)
                i += pattern.count
            } else {
                out.append(scalars[i])
                i += 1
            }
        }
        return String(out)
    }
}

extension String {
    /// Exactly `width` UTF-16 units wide, as NSString's `padding(toLength:withPad:" "
    /// startingAt:0)` makes a column: spaces added, or the text cut when it is longer.
    public func padded(to width: Int) -> String {
        let units = utf16.count
        if units < width { return self + String(repeating: " ", count: width - units) }
        return String(decoding: Array(utf16.prefix(width)), as: UTF16.self)
    }
}

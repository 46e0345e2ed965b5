import Glibc

extension BinaryFloatingPoint {
    /// The value with `places` decimals, exactly as printf's `%.Nf` writes it (which rounds the
    /// binary value half to even: 0.125 is "0.12").
    public func fixed(_ places: Int) -> String {
        let value = Double(self)
        let format = "%.\(max(0, places))f"
        var buffer = [CChar](repeating: 0, count: 64)
        var length = Int(withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) })
        if length >= buffer.count {
            // Only for values past 10^60 or so.
            buffer = [CChar](repeating: 0, count: length + 1)
            length = Int(withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) })
        }
        return String(decoding: buffer.prefix(max(0, length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

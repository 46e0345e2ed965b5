/// A path's directory and last component, split the way NSString's path methods split them:
/// repeated slashes count as one and a trailing slash is ignored, so "/a//b/" is in "/a" and
/// named "b"; "/" is its own directory and name, and a bare name's directory is "". (NSString
/// also makes "//" into "", with no directory and no name.)
public enum PathName {
    /// NSString's `deletingLastPathComponent`.
    public static func parent(of path: String) -> String {
        let fixed = normalized(path)
        if fixed == "/" || fixed.isEmpty { return fixed }
        guard let slash = fixed.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "" }
        if slash == fixed.utf8.startIndex { return "/" }
        return String(fixed[..<slash])
    }

    /// NSString's `lastPathComponent`.
    public static func last(of path: String) -> String {
        let fixed = normalized(path)
        if fixed.utf8.count <= 1 { return fixed }
        guard let slash = fixed.utf8.lastIndex(of: UInt8(ascii: "/")) else { return fixed }
        return String(fixed[fixed.utf8.index(after: slash)...])
    }

    /// Runs of slashes made one, then a trailing slash dropped: "/" stays, "//" becomes "".
    private static func normalized(_ path: String) -> String {
        if path == "/" { return path }
        var out: [UInt8] = []
        out.reserveCapacity(path.utf8.count)
        for byte in path.utf8 where !(byte == UInt8(ascii: "/") && out.last == UInt8(ascii: "/")) {
            out.append(byte)
        }
        if out.last == UInt8(ascii: "/") { out.removeLast() }
        return String(decoding: out, as: UTF8.self)
    }
}

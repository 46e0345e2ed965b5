/// A libvirt URI taken apart as libvirt reads it, to compare spellings of the same endpoint:
/// `QEMU:///system/` is `qemu:///system`. The query is kept as it is, so a URI that adds
/// parameters (`?command=`, `?socket=`) is a different endpoint.
public struct LibvirtURI: Sendable, Equatable {
    /// Lower case: "qemu", "qemu+unix", "qemu+ssh", "test".
    public var scheme: String
    /// Lower case; empty for this host.
    public var host: String
    /// Without trailing slashes: "/system", "/session", "/default".
    public var path: String
    /// "?…" or "#…", as written, or empty.
    public var query: String

    public init(_ uri: String) {
        guard let sep = uri.firstRange(of: "://") else {
            (scheme, host, path, query) = (uri.lowercased(), "", "", "")
            return
        }
        scheme = uri[..<sep.lowerBound].lowercased()
        var rest = String(uri[sep.upperBound...])
        query = ""
        if let q = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            query = String(rest[q...])
            rest = String(rest[..<q])
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        host = rest[..<slash].lowercased()
        var p = String(rest[slash...])
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        path = p
    }

    public var normalized: String { scheme + "://" + host + path + query }

    /// Served by this host's system daemon (libvirtd), however it is spelled or reached:
    /// a connection to it may start a stopped libvirtd through its socket.
    public var isLocalSystem: Bool { host.isEmpty && path == "/system" && !scheme.hasPrefix("test") }
}

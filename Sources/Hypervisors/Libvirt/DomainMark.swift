import Core

/// hvctl's mark on libvirt domains: an element in hvctl's XML namespace inside `<metadata>`,
/// carrying the run id of the command that created the domain. Cleanup selects by this
/// mark, never by a name.
public enum DomainMark {
    public static let namespace = "https://hvctl.dev/xmlns/libvirt/1"
    static let prefix = "hvctl"

    /// `image`: what the guest boots, as `instance list` shows it; `guest`: "hvctl" for
    /// hvctl's own guest, whose console says when it is ready.
    public static func element(run: String, instance: String, image: String? = nil, guest: String? = nil) -> String {
        var attributes = "run='\(escape(run))' name='\(escape(instance))'"
        if let image { attributes += " image='\(escape(image))'" }
        if let guest { attributes += " guest='\(escape(guest))'" }
        return "<\(prefix):instance xmlns:\(prefix)='\(namespace)' \(attributes)/>"
    }

    /// The run id in a mark read back from libvirt.
    public static func run(in metadata: String) -> String? {
        attribute("run", in: metadata)
    }

    /// An attribute of the mark, unescaped.
    static func attribute(_ key: String, in metadata: String) -> String? {
        guard let start = metadata.firstRange(of: " \(key)=") else { return nil }
        let rest = metadata[start.upperBound...]
        guard let quote = rest.first, quote == "'" || quote == "\"" else { return nil }
        return unescape(rest.dropFirst().prefix { $0 != quote }.description)
    }

    static func unescape(_ s: String) -> String {
        s.replacingEvery("&apos;", with: "'").replacingEvery("&quot;", with: "\"")
            .replacingEvery("&lt;", with: "<").replacingEvery("&gt;", with: ">").replacingEvery("&amp;", with: "&")
    }

    static func escape(_ s: String) -> String {
        s.replacingEvery("&", with: "&amp;").replacingEvery("'", with: "&apos;")
            .replacingEvery("<", with: "&lt;").replacingEvery(">", with: "&gt;")
    }
}

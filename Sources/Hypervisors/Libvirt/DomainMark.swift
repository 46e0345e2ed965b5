import Core

/// hvctl's mark on libvirt domains: an element in hvctl's XML namespace inside `<metadata>`,
/// carrying the run id of the command that created the domain. Cleanup selects by this
/// mark, never by a name.
public enum DomainMark {
    public static let namespace = "https://hvctl.dev/xmlns/libvirt/1"
    static let prefix = "hvctl"

    public static func element(run: String, instance: String) -> String {
        "<\(prefix):instance xmlns:\(prefix)='\(namespace)' run='\(escape(run))' name='\(escape(instance))'/>"
    }

    /// The run id in a mark read back from libvirt.
    public static func run(in metadata: String) -> String? {
        guard let start = metadata.firstRange(of: "run=") else { return nil }
        let rest = metadata[start.upperBound...]
        guard let quote = rest.first, quote == "'" || quote == "\"" else { return nil }
        return rest.dropFirst().prefix { $0 != quote }.description
    }

    static func escape(_ s: String) -> String {
        s.replacingEvery("&", with: "&amp;").replacingEvery("'", with: "&apos;")
            .replacingEvery("<", with: "&lt;").replacingEvery(">", with: "&gt;")
    }

    /// A small domain with no disk: it boots into the firmware and idles, which is all an
    /// hvctl instance needs to be (a workload the driver manages).
    /// `uuid`: chosen by hvctl and put on record before the domain is defined, so a domain
    /// defined again from this XML under another name (virt-clone) is not taken for it.
    public static func domainXML(name: String, uuid: String, type: String, run: String, memoryMiB: Int = 64) -> String {
        """
        <domain type='\(type)'>
          <name>\(escape(name))</name>
          <uuid>\(escape(uuid))</uuid>
          <metadata>\(element(run: run, instance: name))</metadata>
          <memory unit='MiB'>\(memoryMiB)</memory>
          <vcpu>1</vcpu>
          <os><type arch='x86_64' machine='pc'>hvm</type></os>
          <on_poweroff>destroy</on_poweroff>
          <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
        </domain>
        """
    }
}

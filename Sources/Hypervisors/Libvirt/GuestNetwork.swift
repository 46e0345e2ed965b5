import Core
import FoundationEssentials
import Glibc

/// Which libvirt network a guest joins: the one `--network` names (never started or changed
/// by hvctl: it must be active), else libvirt's `default` when it is active, else hvctl's own
/// NAT network, made on first need, on record, and removed by cleanup.
enum GuestNetwork {
    static let own = "hvctl"
    /// `--network none`: no interface at all.
    static let none = "none"
    static let kind = "network"

    static func choose(
        _ requested: String?, _ connection: LibvirtConnection, _ context: DriverContext, driver: String
    ) async throws -> String? {
        if requested == none { return nil }
        if let requested {
            guard let network = try await connection.network(named: requested) else {
                throw HypervisorError.conflict("libvirt has no network named '\(requested)' (hvctl makes only its own, '\(own)', when none is named)")
            }
            guard network.active else {
                throw HypervisorError.conflict(
                    "libvirt's network '\(requested)' is not active, and hvctl does not start a network it did not make (`virsh net-start \(requested)`)")
            }
            return requested
        }
        if let fallback = try await connection.network(named: "default"), fallback.active { return "default" }
        return try await ensureOwn(connection, context, driver: driver)
    }

    /// hvctl's network, made (or started again) when needed. One named `hvctl` that is not on
    /// record is someone else's: refused.
    static func ensureOwn(_ connection: LibvirtConnection, _ context: DriverContext, driver: String) async throws -> String {
        let records = try context.state.load().owned(by: driver)
        if let existing = try await connection.network(named: own) {
            guard records.record(kind: kind, id: existing.uuid, name: own, run: nil) != nil else {
                throw HypervisorError.conflict(
                    "libvirt has a network named '\(own)' that hvctl did not make; hvctl leaves it alone (name a network with --network)")
            }
            if !existing.active {
                context.progress("starting hvctl's libvirt network '\(own)'")
                try await connection.startNetwork(uuid: existing.uuid)
            }
            return own
        }
        let subnet = try freeSubnet()
        let uuid = UUID().uuidString.lowercased()
        context.progress("making hvctl's libvirt network '\(own)' (NAT, \(subnet).0/24): libvirt's default network is not active")
        // On record before it exists, as domains are: a process that dies before libvirt
        // answers leaves a network cleanup still knows.
        try context.state.record(ResourceRecord(driver: driver, kind: kind, name: own, id: uuid, run: nil))
        do {
            _ = try await connection.defineAndStartNetwork(xml: xml(uuid: uuid, subnet: subnet), name: own)
        } catch {
            try? context.state.forget(driver: driver, kind: kind, ids: [uuid])
            throw error
        }
        return own
    }

    /// dnsmasq pings an address before it offers it and waits up to 3 s for no answer
    /// (measured: every guest's first lease came 3 s late). The subnet is hvctl's alone and
    /// dnsmasq keeps its leases, so nothing else can hold one: `no-ping`.
    static func xml(uuid: String, subnet: String) -> String {
        """
        <network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>
          <name>\(own)</name>
          <uuid>\(uuid)</uuid>
          <forward mode='nat'/>
          <ip address='\(subnet).1' netmask='255.255.255.0'>
            <dhcp><range start='\(subnet).10' end='\(subnet).250'/></dhcp>
          </ip>
          <dnsmasq:options><dnsmasq:option value='no-ping'/></dnsmasq:options>
        </network>
        """
    }

    /// The first of a few private /24s that no interface of this host is on.
    static func freeSubnet() throws -> String {
        let used = hostIPv4Prefixes()
        let candidates = (150...159).map { "192.168.\($0)" } + (200...209).map { "10.254.\($0)" }
        guard let free = candidates.first(where: { !used.contains($0) }) else {
            throw HypervisorError.conflict("every subnet hvctl would give its network is in use on this host; name a network with --network")
        }
        return free
    }

    /// "a.b.c" of every IPv4 address on this host's interfaces.
    static func hostIPv4Prefixes() -> Set<String> {
        var list: UnsafeMutablePointer<ifaddrs>? = nil
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var out: Set<String> = []
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            let octets = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin_addr) { Array($0) } }
            out.insert("\(octets[0]).\(octets[1]).\(octets[2])")
        }
        return out
    }
}

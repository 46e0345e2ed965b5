@preconcurrency import CLibvirt
import Glibc

/// What a guest needs beyond its domain: the host's capabilities (the user QEMU runs as),
/// the domain's live XML, its addresses from libvirt's DHCP leases, and virtual networks.
extension LibvirtConnection {
    /// The capabilities XML (virConnectGetCapabilities).
    public func capabilities() throws -> String {
        guard let xml = lib.virConnectGetCapabilities(try live()) else { throw failure("virConnectGetCapabilities") }
        defer { free(xml) }
        return String(cString: xml)
    }

    /// The domain's XML (virDomainGetXMLDesc): the live one when it runs.
    public func xml(ofDomain uuid: String) throws -> String {
        try withDomain(uuid, byUUID: true) { d in
            guard let xml = lib.virDomainGetXMLDesc(d, 0) else { throw failure("describe \(uuid)") }
            defer { free(xml) }
            return String(cString: xml)
        }
    }

    /// IPv4 addresses the guest took from a libvirt network's DHCP server, with their prefix
    /// (virDomainInterfaceAddresses from the lease files).
    public func leasedAddresses(ofDomain uuid: String) throws -> [String] {
        try withDomain(uuid, byUUID: true) { d in
            var list: UnsafeMutablePointer<virDomainInterfacePtr?>? = nil
            let n = lib.virDomainInterfaceAddresses(d, &list, UInt32(VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE.rawValue), 0)
            guard n >= 0 else { throw failure("read the addresses of \(uuid)") }
            defer {
                for i in 0..<Int(n) { lib.virDomainInterfaceFree(list?[i]) }
                free(list)
            }
            var out: [String] = []
            for i in 0..<Int(n) {
                guard let iface = list?[i]?.pointee else { continue }
                for a in 0..<Int(iface.naddrs) {
                    let address = iface.addrs[a]
                    guard address.type == Int32(VIR_IP_ADDR_TYPE_IPV4.rawValue), let text = address.addr else { continue }
                    out.append("\(String(cString: text))/\(address.prefix)")
                }
            }
            return out
        }
    }

    /// A virtual network as listed at one moment.
    public struct Network: Sendable, Equatable {
        public var name: String
        public var uuid: String
        public var active: Bool
    }

    /// The network called `name`, or nil when there is none.
    public func network(named name: String) throws -> Network? {
        let c = try live()
        guard let n = lib.virNetworkLookupByName(c, name) else {
            let e = failure("lookup network \(name)")
            if e.code == Int32(VIR_ERR_NO_NETWORK.rawValue) { return nil }
            throw e
        }
        defer { _ = lib.virNetworkFree(n) }
        return try describe(network: n, name: name)
    }

    /// Defines a persistent network from XML and starts it.
    public func defineAndStartNetwork(xml: String, name: String) throws -> Network {
        guard let n = lib.virNetworkDefineXML(try live(), xml) else { throw failure("define network \(name)") }
        defer { _ = lib.virNetworkFree(n) }
        guard lib.virNetworkCreate(n) == 0 else {
            let e = failure("start network \(name)")
            _ = lib.virNetworkUndefine(n)
            throw e
        }
        return try describe(network: n, name: name)
    }

    /// Starts the defined network whose UUID is `uuid` (one hvctl made).
    public func startNetwork(uuid: String) throws {
        guard let n = lib.virNetworkLookupByUUIDString(try live(), uuid) else { throw failure("lookup network \(uuid)") }
        defer { _ = lib.virNetworkFree(n) }
        guard lib.virNetworkCreate(n) == 0 else { throw failure("start network \(uuid)") }
    }

    /// Stops (when active) and undefines the network whose UUID is `uuid`; gone already is fine.
    public func removeNetwork(uuid: String) throws {
        guard let n = lib.virNetworkLookupByUUIDString(try live(), uuid) else {
            let e = failure("lookup network \(uuid)")
            if e.code == Int32(VIR_ERR_NO_NETWORK.rawValue) { return }
            throw e
        }
        defer { _ = lib.virNetworkFree(n) }
        if lib.virNetworkIsActive(n) == 1, lib.virNetworkDestroy(n) != 0 { throw failure("stop network \(uuid)") }
        guard lib.virNetworkUndefine(n) == 0 else { throw failure("undefine network \(uuid)") }
    }

    private func describe(network n: OpaquePointer, name: String) throws -> Network {
        var uuid = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        guard lib.virNetworkGetUUIDString(n, &uuid) == 0 else { throw failure("virNetworkGetUUIDString") }
        return Network(
            name: name, uuid: Self.uuidText(uuid),
            active: lib.virNetworkIsActive(n) == 1)
    }
}

@preconcurrency import CLibvirt
import Glibc

/// libvirt's storage API, as far as guests' disk overlays need it: one directory pool, its
/// volumes made and deleted by name.
extension LibvirtConnection {
    public struct Pool: Sendable, Equatable {
        public var name: String
        public var uuid: String
        public var active: Bool
    }

    /// The pool called `name`, or nil when there is none.
    public func pool(named name: String) throws -> Pool? {
        guard let p = lib.virStoragePoolLookupByName(try live(), name) else {
            let e = failure("lookup pool \(name)")
            if e.code == Int32(VIR_ERR_NO_STORAGE_POOL.rawValue) { return nil }
            throw e
        }
        defer { _ = lib.virStoragePoolFree(p) }
        return try describe(pool: p, name: name)
    }

    /// Defines a persistent pool from XML and starts it.
    public func defineAndStartPool(xml: String, name: String) throws -> Pool {
        guard let p = lib.virStoragePoolDefineXML(try live(), xml, 0) else { throw failure("define pool \(name)") }
        defer { _ = lib.virStoragePoolFree(p) }
        guard lib.virStoragePoolCreate(p, 0) == 0 else {
            let e = failure("start pool \(name)")
            _ = lib.virStoragePoolUndefine(p)
            throw e
        }
        return try describe(pool: p, name: name)
    }

    public func startPool(uuid: String) throws {
        try withPool(uuid) { p in
            guard lib.virStoragePoolCreate(p, 0) == 0 else { throw failure("start pool \(uuid)") }
        }
    }

    /// Stops (when active) and undefines the pool; its directory and files stay.
    public func removePool(uuid: String) throws {
        guard let p = lib.virStoragePoolLookupByUUIDString(try live(), uuid) else {
            let e = failure("lookup pool \(uuid)")
            if e.code == Int32(VIR_ERR_NO_STORAGE_POOL.rawValue) { return }
            throw e
        }
        defer { _ = lib.virStoragePoolFree(p) }
        if lib.virStoragePoolIsActive(p) == 1, lib.virStoragePoolDestroy(p) != 0 { throw failure("stop pool \(uuid)") }
        guard lib.virStoragePoolUndefine(p) == 0 else { throw failure("undefine pool \(uuid)") }
    }

    /// Creates a volume in the pool from XML; returns its path.
    public func createVolume(pool uuid: String, xml: String) throws -> String {
        try withPool(uuid) { p in
            // Files put in the directory by hand since it started are otherwise unknown to it.
            _ = lib.virStoragePoolRefresh(p, 0)
            guard let v = lib.virStorageVolCreateXML(p, xml, 0) else { throw failure("create a volume") }
            defer { _ = lib.virStorageVolFree(v) }
            guard let path = lib.virStorageVolGetPath(v) else { throw failure("virStorageVolGetPath") }
            defer { free(path) }
            return String(cString: path)
        }
    }

    /// Deletes the volume `name` of the pool; one already gone is fine.
    public func deleteVolume(pool uuid: String, name: String) throws {
        try withPool(uuid) { p in
            _ = lib.virStoragePoolRefresh(p, 0)
            guard let v = lib.virStorageVolLookupByName(p, name) else {
                let e = failure("lookup volume \(name)")
                if e.code == Int32(VIR_ERR_NO_STORAGE_VOL.rawValue) { return }
                throw e
            }
            defer { _ = lib.virStorageVolFree(v) }
            guard lib.virStorageVolDelete(v, 0) == 0 else { throw failure("delete volume \(name)") }
        }
    }

    private func withPool<T>(_ uuid: String, _ body: (OpaquePointer) throws -> T) throws -> T {
        guard let p = lib.virStoragePoolLookupByUUIDString(try live(), uuid) else { throw failure("lookup pool \(uuid)") }
        defer { _ = lib.virStoragePoolFree(p) }
        return try body(p)
    }

    private func describe(pool p: OpaquePointer, name: String) throws -> Pool {
        var uuid = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        guard lib.virStoragePoolGetUUIDString(p, &uuid) == 0 else { throw failure("virStoragePoolGetUUIDString") }
        return Pool(
            name: name, uuid: Self.uuidText(uuid),
            active: lib.virStoragePoolIsActive(p) == 1)
    }
}

import Core
import FoundationEssentials
import Glibc

/// hvctl's storage pool: a directory pool over the guest directory's images/, made on first
/// need and on record. Its volumes are overlays named by their domain's UUID, so each belongs
/// to the instance on record and goes with it.
enum GuestPool {
    static let name = "hvctl-images"
    static let kind = "pool"

    static func volumeName(domain uuid: String) -> String { "\(uuid).qcow2" }

    /// The pool's UUID, made or started when needed. One of that name hvctl did not make is refused.
    static func ensure(_ connection: LibvirtConnection, _ directory: GuestDirectory, _ context: DriverContext, driver: String) async throws -> String {
        let records = try context.state.load().owned(by: driver)
        if let existing = try await connection.pool(named: name) {
            guard records.record(kind: kind, id: existing.uuid, name: name, run: nil) != nil else {
                throw HypervisorError.conflict("libvirt has a storage pool named '\(name)' that hvctl did not make; hvctl leaves it alone")
            }
            if !existing.active { try await connection.startPool(uuid: existing.uuid) }
            return existing.uuid
        }
        let uuid = UUID().uuidString.lowercased()
        context.progress("making hvctl's libvirt storage pool '\(name)' (\(directory.images)) for disk overlays")
        try context.state.record(ResourceRecord(driver: driver, kind: kind, name: name, id: uuid, run: nil))
        do {
            _ = try await connection.defineAndStartPool(xml: xml(uuid: uuid, path: directory.images), name: name)
        } catch {
            try? context.state.forget(driver: driver, kind: kind, ids: [uuid])
            throw error
        }
        return uuid
    }

    static func xml(uuid: String, path: String) -> String {
        "<pool type='dir'><name>\(name)</name><uuid>\(uuid)</uuid><target><path>\(DomainMark.escape(path))</path><permissions><mode>0711</mode><owner>0</owner><group>0</group></permissions></target></pool>"
    }

    /// A qcow2 overlay on `base`, writable by QEMU's user only.
    static func overlayXML(domain uuid: String, base: DiskImage, label: String?) -> String {
        let permissions = QemuAccess(label: label).map { "<permissions><mode>0600</mode><owner>\($0.uid)</owner><group>\($0.gid)</group></permissions>" } ?? ""
        return """
            <volume type='file'>
              <name>\(volumeName(domain: uuid))</name>
              <capacity unit='bytes'>\(base.virtualSize)</capacity>
              <target><format type='qcow2'/>\(permissions)</target>
              <backingStore><path>\(DomainMark.escape(base.path))</path><format type='\(base.format)'/></backingStore>
            </volume>
            """
    }

    /// Removes the overlay of domain `uuid`: through the pool when it is on record, else the
    /// file itself (the directory is hvctl's alone).
    static func removeOverlay(domain uuid: String, _ connection: LibvirtConnection, _ directory: GuestDirectory, _ context: DriverContext, driver: String) async {
        let volume = volumeName(domain: uuid)
        if let pool = try? context.state.load().owned(by: driver).records.first(where: { $0.kind == kind })?.id,
            (try? await connection.deleteVolume(pool: pool, name: volume)) != nil
        {
            return
        }
        unlink(directory.images + "/" + volume)
    }
}

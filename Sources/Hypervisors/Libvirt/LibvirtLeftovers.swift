import Core
import FoundationEssentials
import Glibc

/// What hvctl's guests leave besides domains: hvctl's own network and storage pool, and
/// console logs and overlays whose domain is gone. Only a cleanup of every run touches them,
/// and only while no run is going (one may be about to launch onto them).
extension LibvirtDriver {
    func cleanupLeftovers(
        _ connection: LibvirtConnection, _ context: DriverContext, _ scope: CleanupScope, remaining: [String], dryRun: Bool,
        report: inout CleanupReport
    ) async throws {
        guard scope.run == nil, report.failures.isEmpty, !scope.anyLive() else { return }
        let name = self.name
        let directory = GuestDirectory(root: context.settings.libvirtGuestDirectory)
        let shared = try context.state.load().owned(by: name).records.filter { $0.kind == GuestNetwork.kind || $0.kind == GuestPool.kind }
        // How a domain's XML shows it uses each: a network by name, the pool by its directory.
        @Sendable func uses(_ r: ResourceRecord, _ xml: String) -> Bool {
            r.kind == GuestNetwork.kind
                ? xml.contains("network='\(r.name)'") || xml.contains("network=\"\(r.name)\"") : xml.contains(directory.images + "/")
        }
        if !shared.isEmpty {
            // A domain still there (someone else's, or one spared) may use one: then it stays.
            let users = try await bounded("reading the remaining domains", context, extra: .seconds(remaining.count)) {
                var users: [String: [String]] = [:]
                for uuid in remaining {
                    guard let xml = try? await connection.xml(ofDomain: uuid) else { continue }
                    for r in shared where uses(r, xml) {
                        users[r.kind + r.name, default: []].append((try? await connection.domain(uuid: uuid).name) ?? uuid)
                    }
                }
                return users
            }
            for r in shared {
                // A run may have started since the look above, and be launching onto it.
                guard !scope.anyLive() else { return }
                if let by = users[r.kind + r.name] {
                    report.kept.append("\(r.kind) \(r.name) (used by domain \(by.joined(separator: ", ")))")
                    continue
                }
                report.removed[r.kind, default: []].append(r.name)
                guard !dryRun, let id = r.id else { continue }
                try await bounded("removing \(r.kind) \(r.name)", context) {
                    if r.kind == GuestNetwork.kind { try await connection.removeNetwork(uuid: id) } else { try await connection.removePool(uuid: id) }
                }
                try context.state.forget(driver: name, kind: r.kind, ids: [id])
            }
        }
        // Files no domain on record claims: their domain went without hvctl (undefined by
        // hand). Only names hvctl gives (UUID.log, UUID.qcow2): anything else put there stays.
        guard !scope.anyLive() else { return }
        // Only a directory that passes the trust rule is swept (guest_dir is configurable).
        try directory.prepare()
        let claimed = Set(try context.state.load().owned(by: name).records.compactMap(\.id)).union(remaining)
        for (folder, suffix, kind) in [(directory.console, ".log", "console log"), (directory.images, ".qcow2", "overlay")] {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for file in files.sorted() where file.hasSuffix(suffix) {
                let uuid = String(file.dropLast(suffix.count))
                guard UUID(uuidString: uuid) != nil, uuid == uuid.lowercased(), !claimed.contains(uuid) else { continue }
                report.removed[kind, default: []].append(file)
                if !dryRun && !scope.anyLive() { unlink(folder + "/" + file) }
            }
        }
    }
}

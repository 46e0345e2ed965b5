import Core
import FoundationEssentials

/// What hvctl's guests leave besides domains: hvctl's own network, and console logs whose
/// domain is gone. Only a cleanup of every run touches them, and only while no run is going
/// (one may be about to launch onto the network).
extension LibvirtDriver {
    func cleanupLeftovers(
        _ connection: LibvirtConnection, _ context: DriverContext, _ scope: CleanupScope, remaining: [String], dryRun: Bool,
        report: inout CleanupReport
    ) async throws {
        guard scope.run == nil, report.failures.isEmpty, !scope.anyLive() else { return }
        let name = self.name
        let networks = try context.state.load().owned(by: name).records.filter { $0.kind == GuestNetwork.kind }
        if !networks.isEmpty {
            // A domain still there (someone else's, or one spared) may use it: then it stays.
            let users = try await bounded("reading the remaining domains", context, extra: .seconds(remaining.count)) {
                var users: [String: [String]] = [:]
                for uuid in remaining {
                    guard let xml = try? await connection.xml(ofDomain: uuid) else { continue }
                    for n in networks where xml.contains("network='\(n.name)'") || xml.contains("network=\"\(n.name)\"") {
                        users[n.name, default: []].append((try? await connection.domain(uuid: uuid).name) ?? uuid)
                    }
                }
                return users
            }
            for n in networks {
                if let by = users[n.name] {
                    report.kept.append("network \(n.name) (used by domain \(by.joined(separator: ", ")))")
                    continue
                }
                report.removed["network", default: []].append(n.name)
                guard !dryRun, let id = n.id else { continue }
                try await bounded("removing network \(n.name)", context) { try await connection.removeNetwork(uuid: id) }
                try context.state.forget(driver: name, kind: GuestNetwork.kind, ids: [id])
            }
        }
        // Logs no domain on record claims: their domain went without hvctl (undefined by hand).
        let console = GuestDirectory(root: context.settings.libvirtGuestDirectory).console
        let claimed = Set(try context.state.load().owned(by: name).records.compactMap(\.id))
        let files = (try? FileManager.default.contentsOfDirectory(atPath: console)) ?? []
        for file in files.sorted() where file.hasSuffix(".log") && !claimed.contains(String(file.dropLast(4))) {
            let uuid = String(file.dropLast(4))
            guard UUID(uuidString: uuid) != nil, !remaining.contains(uuid) else { continue }
            report.removed["console log", default: []].append(file)
            if !dryRun { ConsoleLog(directory: console, uuid: uuid).remove() }
        }
    }
}

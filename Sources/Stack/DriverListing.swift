import Core
import FoundationEssentials
import Hypervisors

/// `hvctl drivers`: every native driver's status (looked at, nothing started), the script
/// drivers found with where each comes from, and the scripts refused.
public struct DriverListing: Sendable, Encodable {
    public struct Script: Sendable, Encodable {
        public var name: String
        public var path: String
        public var origin: String
        /// A native driver has this name and wins; `script:NAME` selects the script.
        public var shadowed: Bool
    }

    public var active: String?
    public var drivers: [DriverStatus]
    public var scripts: [Script]
    /// Scripts found but not trusted, by name: why.
    public var refused: [String: String]

    public static func make(settings: DriverSettings, environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> DriverListing {
        let context = try await DriverSession.makeContext(settings: settings, environment: environment)
        var rows: [DriverStatus] = []
        for name in Drivers.names {
            rows.append(try await Drivers.named(name).status(context))
        }
        let config = try HostConfig.load(environment: environment)
        let found = DriverSession.scan(config: config, environment: environment)
        let scripts = found.drivers.values.sorted { $0.name < $1.name }.map {
            Script(name: $0.name, path: $0.path, origin: $0.origin, shadowed: Drivers.all[$0.name] != nil)
        }
        return DriverListing(active: try context.state.load().activeDriver, drivers: rows, scripts: scripts, refused: found.refused)
    }
}

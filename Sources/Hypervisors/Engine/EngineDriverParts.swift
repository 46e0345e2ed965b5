import Core

/// What every Engine API driver owns alike: its hvctl.conf section (socket, image, network),
/// its socket as the endpoint leases record, its doctor check and its units' logs.
extension EngineDriver {
    public func checkSetting(_ key: String, _ value: String) throws -> String {
        switch key {
        case "socket", "image", "network":
            guard !value.isEmpty else { throw HypervisorError.badSetting(driver: name, key: key, takes: "a value") }
            return value
        default: throw HypervisorError.badSetting(driver: name, key: key, takes: nil)
        }
    }

    public func endpoint(_ settings: DriverSettings) -> String? { socket(settings) }
    /// A socket path with `.`, `..` and repeated slashes taken out.
    public func normalizedEndpoint(_ endpoint: String) -> String { RuntimePaths.normalized(endpoint) }
    public var logUnits: [String] { [daemon.service] + daemon.sockets }

    /// The units first; the socket only when the daemon is up (a connection would start it).
    public func doctor(_ context: DoctorContext) async -> DriverCheck {
        if let units = await daemon.doctorUnits(context) { return units }
        let socket = socket(context.settings)
        do {
            let (client, version) = try await withDeadline(context.timeout, engineName) {
                let client = try await EngineClient.connect(socketPath: socket, timeout: .seconds(5))
                return (client, try await client.version())
            }
            return DriverCheck(.ok, "\(engineName) \(version.Version), Engine API \(client.apiVersion) on \(socket)")
        } catch {
            return DriverCheck(.fail, "\(error)", fix: "look at `journalctl -u \(daemon.service)`")
        }
    }
}

import Core

/// The Podman driver's own settings: hvctl.conf's `[podman]` section and --podman-socket.
///
///     [podman]
///     socket = /run/podman/podman.sock
///     image = myimage:latest       # instances' image when --image names none
///     network = none               # network mode for instances
extension DriverSettings {
    public var podmanSocket: String {
        get { self["podman", "socket"] ?? "/run/podman/podman.sock" }
        set { self["podman", "socket"] = newValue }
    }
    public var podmanImage: String? { self["podman", "image"] }
    public var podmanNetwork: String { self["podman", "network"] ?? "none" }
}

extension PodmanDriver {
    public func checkSetting(_ key: String, _ value: String) throws -> String {
        switch key {
        case "socket", "image", "network":
            guard !value.isEmpty else { throw HypervisorError.badSetting(driver: name, key: key, takes: "a value") }
            return value
        default: throw HypervisorError.badSetting(driver: name, key: key, takes: nil)
        }
    }

    public func endpoint(_ settings: DriverSettings) -> String? { settings.podmanSocket }
    public func normalizedEndpoint(_ endpoint: String) -> String { RuntimePaths.normalized(endpoint) }
    public func setEndpoint(_ endpoint: String, in settings: inout DriverSettings) { settings.podmanSocket = endpoint }
    public var logUnits: [String] { [daemon.service, "podman.socket"] }

    /// The units first; the socket only when it listens (connecting starts podman.service,
    /// which exits again when idle: no lasting change).
    public func doctor(_ context: DoctorContext) async -> DriverCheck {
        if let units = await daemon.doctorUnits(context) { return units }
        let socket = context.settings.podmanSocket
        do {
            let (client, version) = try await withDeadline(context.timeout, "Podman") {
                let client = try await EngineClient.connect(socketPath: socket, timeout: .seconds(5))
                return (client, try await client.version())
            }
            return DriverCheck(.ok, "Podman \(version.Version), Engine API \(client.apiVersion) on \(socket)")
        } catch {
            return DriverCheck(.fail, "\(error)", fix: "look at `journalctl -u podman.socket -u podman.service`")
        }
    }
}

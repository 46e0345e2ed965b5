import Core

/// The Docker driver's own settings: hvctl.conf's `[docker]` section and --docker-socket.
///
///     [docker]
///     socket = /run/docker.sock
///     image = myimage:latest       # instances' image when --image names none
///     network = none               # network mode for instances
extension DriverSettings {
    public var dockerSocket: String {
        get { self["docker", "socket"] ?? EngineClient.defaultSocket }
        set { self["docker", "socket"] = newValue }
    }
    /// hvctl.conf's image for instances, below --image.
    public var dockerImage: String? { self["docker", "image"] }
    /// "none" by default: a bridge endpoint costs the daemon more than anything else at
    /// create and removal time, and instances need none.
    public var dockerNetwork: String { self["docker", "network"] ?? "none" }
}

extension DockerDriver {
    public func checkSetting(_ key: String, _ value: String) throws -> String {
        switch key {
        case "socket", "image", "network":
            guard !value.isEmpty else { throw HypervisorError.badSetting(driver: name, key: key, takes: "a value") }
            return value
        default: throw HypervisorError.badSetting(driver: name, key: key, takes: nil)
        }
    }

    public func endpoint(_ settings: DriverSettings) -> String? { settings.dockerSocket }
    /// A socket path with `.`, `..` and repeated slashes taken out.
    public func normalizedEndpoint(_ endpoint: String) -> String { RuntimePaths.normalized(endpoint) }
    public func setEndpoint(_ endpoint: String, in settings: inout DriverSettings) { settings.dockerSocket = endpoint }
    public var logUnits: [String] { [daemon.service] }

    /// The units first; the socket only when dockerd already runs (it would start it).
    public func doctor(_ context: DoctorContext) async -> DriverCheck {
        if let units = await daemon.doctorUnits(context) { return units }
        let socket = context.settings.dockerSocket
        do {
            let (client, version) = try await withDeadline(context.timeout, "the Docker daemon") {
                let client = try await EngineClient.connect(socketPath: socket, timeout: .seconds(5))
                return (client, try await client.version())
            }
            return DriverCheck(.ok, "Docker Engine \(version.Version), API \(client.apiVersion) on \(socket)")
        } catch {
            return DriverCheck(.fail, "\(error)", fix: "look at `journalctl -u \(daemon.service)`")
        }
    }
}

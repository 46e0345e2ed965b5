/// The Docker driver: dockerd through systemd (docker.service, docker.socket) and the Engine
/// API on its socket (EngineDriver has the verbs).
public struct DockerDriver: EngineDriver {
    public let name = "docker"
    /// nova-docker's driver class, what DevStack's docker plugin wrote.
    public let computeDriver = "novadocker.virt.docker.DockerDriver"
    public let daemon = SystemdDaemon(driver: "docker", service: "docker.service", sockets: ["docker.socket"], packages: ["docker.io"])
    public let engineName = "dockerd"

    public init() {}

    public func socket(_ settings: DriverSettings) -> String { settings.dockerSocket }
    public func configuredImage(_ settings: DriverSettings) -> String? { settings.dockerImage }
    public func network(_ settings: DriverSettings) -> String { settings.dockerNetwork }
}

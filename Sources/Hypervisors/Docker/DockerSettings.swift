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
    public func setEndpoint(_ endpoint: String, in settings: inout DriverSettings) { settings.dockerSocket = endpoint }
}

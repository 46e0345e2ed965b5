/// The Podman driver: Podman's REST API on /run/podman/podman.sock (the Engine API it serves
/// beside libpod's; EngineDriver has the verbs), through podman.socket. Never the podman CLI.
///
/// Podman is not Docker: podman.service exits after a few seconds idle while its containers
/// keep running, and the socket is the API. So Podman is up while podman.socket (or the
/// service) is active, starting it is starting the socket, and when both are inactive it is
/// stopped: hvctl does not start them to look.
public struct PodmanDriver: EngineDriver {
    public let name = "podman"
    /// No nova driver runs Podman; this names it for the consumer's config.
    public let computeDriver = "podman.PodmanDriver"
    public let daemon = SystemdDaemon(
        driver: "podman", service: "podman.service", sockets: ["podman.socket"], packages: ["podman"], upWhileSocketListens: true)
    public let engineName = "Podman"
    /// Measured: a kill pass took 5.6 s for 100 containers and the removal 0.9 s after it; the
    /// forced removal alone kills as it goes.
    public let killsBeforeRemoving = false

    public init() {}

    public func socket(_ settings: DriverSettings) -> String { settings.podmanSocket }
    public func configuredImage(_ settings: DriverSettings) -> String? { settings.podmanImage }
    public func network(_ settings: DriverSettings) -> String { settings.podmanNetwork }
}

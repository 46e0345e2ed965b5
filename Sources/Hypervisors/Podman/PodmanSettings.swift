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
    public func setEndpoint(_ endpoint: String, in settings: inout DriverSettings) { settings.podmanSocket = endpoint }
}

/// What `hvctl instance launch` asks a driver for. A driver refuses, in one line, what it
/// cannot honour (a kernel for a container, a command for a VM).
public struct InstanceRequest: Sendable, Equatable {
    public var name: String
    /// A container image, or for a VM a qcow2 or raw disk image booted on an overlay.
    public var image: String?
    /// A container's command (what follows `--`).
    public var command: [String] = []
    /// The network to join; nil: the driver's default.
    public var network: String?
    public var memoryMiB: Int?
    public var vcpus: Int?
    /// A VM booted directly from this kernel, with this initrd and command line.
    public var kernel: String?
    public var initrd: String?
    public var cmdline: String?

    public init(name: String, image: String? = nil) {
        self.name = name
        self.image = image
    }
}

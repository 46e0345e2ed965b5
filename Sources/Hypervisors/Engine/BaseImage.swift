import FoundationEssentials

/// hvctl's default Docker base image: a root filesystem holding only a static busybox,
/// made on the host (no registry is needed) and imported through the Engine API.
enum BaseImage {
    static let repository = "hvctl/busybox"
    static let tag = "latest"
    static var reference: String { "\(repository):\(tag)" }
    static let busybox = "/bin/busybox"
    /// Applets instances and users are likely to call by name.
    static let applets = ["sh", "sleep", "true", "false", "echo", "cat", "ls", "ps", "env", "id", "hostname", "wget", "nc"]

    /// A tarball of /bin/busybox plus applet links; throws when busybox-static is missing.
    static func rootfs() throws -> Data {
        guard let busybox = FileManager.default.contents(atPath: Self.busybox) else {
            throw HypervisorError.unusableFile(
                "\(Self.busybox) is missing, so hvctl cannot make its base image; install busybox-static (apt-get install busybox-static) or name an image with --image")
        }
        var tar = TarArchive()
        tar.directory("bin")
        tar.file("bin/busybox", contents: busybox, mode: 0o755)
        for applet in applets { tar.symlink("bin/\(applet)", to: "busybox") }
        tar.directory("tmp", mode: 0o1777)
        return tar.finished()
    }
}

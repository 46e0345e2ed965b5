import Systemd

/// Installs Debian packages with apt-get, as a transient unit so its output is in the journal.
enum PackageInstaller {
    static func install(_ packages: [String], _ context: DriverContext) async throws {
        var service = TransientService(
            name: "hvctl-\(context.run)-apt-install.service",
            command: ["/usr/bin/apt-get", "install", "-y", "-q"] + packages)
        service.description = "hvctl: apt-get install \(packages.joined(separator: " "))"
        service.environment = ["DEBIAN_FRONTEND": "noninteractive"]
        service.slice = "hvctl.slice"
        service.runtimeMax = .seconds(1800)
        service.syslogIdentifier = "hvctl-apt"
        service.logExtraFields = ["HVCTL_RUN": context.run.value]
        let result = try await context.systemd.run(service)
        guard result.succeeded else {
            throw HypervisorError.failed(
                "apt-get install \(packages.joined(separator: " ")) failed (exit \(result.exitStatus)); see `journalctl -u \(service.name)`")
        }
    }
}

import FoundationEssentials
import Systemd

/// Installs Debian packages with apt-get, as a transient unit so its output is in the journal.
public enum PackageInstaller {
    /// Those of `packages` dpkg does not have installed, read from dpkg's status file (no
    /// dpkg-query process per package).
    public static func missing(_ packages: [String], status: String = "/var/lib/dpkg/status") -> [String] {
        guard !packages.isEmpty, let data = FileManager.default.contents(atPath: status) else { return packages }
        var installed: Set<String> = []
        for stanza in String(decoding: data, as: UTF8.self).components(separatedBy: "\n\n") {
            var name: String?
            var ok = false
            for line in stanza.split(separator: "\n") {
                if line.hasPrefix("Package: ") { name = String(line.dropFirst(9)) }
                if line.hasPrefix("Status: "), line.hasSuffix(" installed"), line.contains("install ok") { ok = true }
            }
            if let name, ok { installed.insert(name) }
        }
        return packages.filter { !installed.contains($0.split(separator: ":").first.map(String.init) ?? $0) }
    }

    public static func install(_ packages: [String], _ context: DriverContext) async throws {
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
            throw HypervisorError.daemonFailed(
                "apt-get install \(packages.joined(separator: " ")) failed (exit \(result.exitStatus)); see `journalctl -u \(service.name)`")
        }
    }
}

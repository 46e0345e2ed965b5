import Core
import FoundationEssentials

/// Where script drivers are found: a DevStack tree's lib/nova_plugins, and hvctl's own
/// directory for a user's (/etc/hvctl/hypervisors.d, or $HVCTL_HYPERVISORS_DIR). A name in
/// both is the tree's: it is what DevStack itself would run. Every script is held to the trust
/// rule before it is listed: it runs as root.
public enum ScriptDriverDirectory {
    public static let defaultDirectory = "/etc/hvctl/hypervisors.d"
    static let prefix = "hypervisor-"

    public static func userDirectory(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        environment["HVCTL_HYPERVISORS_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultDirectory
    }

    /// The scripts found, by name; those that fail the trust rule in `refused`, with why.
    public static func scan(
        topDir: String?, trust: PathTrust, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> (drivers: [String: ScriptDriver], refused: [String: String]) {
        var drivers: [String: ScriptDriver] = [:]
        var refused: [String: String] = [:]
        var places: [(String, String)] = [(userDirectory(environment), "hvctl's hypervisors.d")]
        if let topDir { places.append((topDir + "/lib/nova_plugins", "the DevStack tree")) }
        for (directory, origin) in places {
            for entry in (try? DirectoryListing.names(of: directory)) ?? [] where entry.hasPrefix(prefix) {
                let name = String(entry.dropFirst(prefix.count))
                guard isDriverName(name) else { continue }
                do {
                    let path = try trust.verify(directory + "/" + entry, as: .file)
                    drivers[name] = ScriptDriver(name: name, path: path, origin: origin)
                    refused[name] = nil
                } catch {
                    refused[name] = "\(error)"
                }
            }
        }
        return (drivers, refused)
    }

    /// What DevStack's `hypervisor-$VIRT_DRIVER` may be for hvctl: a unit-name-safe word.
    public static func isDriverName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 32 && name.utf8.allSatisfy { c in
            (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 95 || c == 45
        }
    }
}

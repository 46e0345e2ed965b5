import Core
import FoundationEssentials
import Glibc
import Hooks
import Hypervisors
import SystemPackage

/// /etc/hvctl/hvctl.conf (or --config / $HVCTL_CONFIG): defaults for every command, below
/// command-line options and environment variables.
///
///     [DEFAULT]
///     virt_driver = docker              # below $VIRT_DRIVER and the active driver
///     extras_dir = /etc/hvctl/extras.d
///     top_dir = /opt/stack              # TOP_DIR for hooks (default: extras.d's parent)
///     hook_timeout = 1800               # seconds
///     compute_config = /etc/nova/nova.conf
///
///     trusted_users = stack             # may own hooks and TOP_DIR too (root-owned file only)
///
///     [hook_env]                        # given to every hook (--env adds and overrides)
///     ENABLED_SERVICES = n-cpu,key
///
///     [hook_timeout]                    # per hook, seconds
///     20-foo.sh = 60
///
///     [docker]
///     socket = /run/docker.sock
///     image = myimage:latest
///     network = none
///
///     [libvirt]
///     uri = qemu:///system
///     timeout = 15                      # seconds one look at libvirt may take
public struct HostConfig: Sendable, Equatable {
    public static let defaultPath = "/etc/hvctl/hvctl.conf"

    public var path: String?
    public var virtDriver: String?
    public var extrasDir: String?
    public var topDir: String?
    public var hookTimeout: Int?
    public var computeConfig: String?
    public var hookEnvironment: [String: String] = [:]
    public var hookTimeouts: [String: Int] = [:]
    /// Each driver's own section (`[docker]`, `[libvirt]`), its keys and values checked by
    /// the driver.
    public var driverSections: [String: [String: String]] = [:]
    /// Users besides root and the invoking user who may own hooks, TOP_DIR and what hooks
    /// source; honoured only from a file that root owns in directories only root can write.
    public var trustedUsers: [uid_t] = []

    /// Who may own what hooks run and source.
    public var hookPolicy: TrustPolicy { TrustPolicy.invoking.adding(trustedUsers) }

    /// The longest timeout or grace hvctl accepts anywhere: a year, far below where
    /// microseconds overflow 64 bits.
    public static let maxSeconds = 365 * 24 * 3600

    public init() {}

    /// $HVCTL_CONFIG when set (it must exist), else /etc/hvctl/hvctl.conf when it exists.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> HostConfig {
        if let explicit = environment["HVCTL_CONFIG"], !explicit.isEmpty {
            guard FileManager.default.fileExists(atPath: explicit) else { throw ConfigError.missing(explicit) }
            return try parse(path: explicit, environment: environment)
        }
        guard FileManager.default.fileExists(atPath: defaultPath) else { return HostConfig() }
        return try parse(path: defaultPath, environment: environment)
    }

    public static func parse(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> HostConfig {
        // The file tells hvctl what to run and with what environment: it must be as safe as
        // a hook, and so must every directory on its path.
        let checked: String
        do {
            checked = try PathTrust(.invoking, purpose: "read the configuration").verify(path)
        } catch TrustError.unreachable(_, let reason) {
            throw ConfigError.unreadable(path, reason: reason)
        }
        let text = try readText(checked)
        var c = HostConfig()
        c.path = path
        var section = "DEFAULT"
        var virtDriverLine = 0
        // Split as bytes: to Swift a CRLF is one Character, which does not split on "\n".
        let rawLines = Array(text.utf8).split(separator: 10, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        for (index, raw) in rawLines.enumerated() {
            let line = raw.trimmingSpacesAndNewlines()  // CRLF files too
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw ConfigError.bad(path, index + 1, "a section header is [name]") }
                section = String(line.dropFirst().dropLast()).trimmingSpaces()
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { throw ConfigError.bad(path, index + 1, "expected key = value") }
            let key = line[..<eq].trimmingSpaces()
            var value = line[line.index(after: eq)...].trimmingSpaces()
            if let hash = value.firstRange(of: " #") { value = value[..<hash.lowerBound].trimmingSpaces() }
            func seconds() throws -> Int {
                guard let n = Int(value), n > 0, n <= maxSeconds else {
                    throw ConfigError.bad(path, index + 1, "\(key) takes a number of seconds from 1 to \(maxSeconds)")
                }
                return n
            }
            if let driver = Drivers.all[section] {
                do {
                    c.driverSections[section, default: [:]][key] = try driver.checkSetting(key, value)
                } catch {
                    throw ConfigError.bad(path, index + 1, "\(error)")
                }
                continue
            }
            switch (section, key) {
            case ("DEFAULT", "virt_driver"):
                c.virtDriver = value
                virtDriverLine = index + 1
            case ("DEFAULT", "extras_dir"): c.extrasDir = value
            case ("DEFAULT", "top_dir"): c.topDir = value
            case ("DEFAULT", "hook_timeout"): c.hookTimeout = try seconds()
            case ("DEFAULT", "compute_config"): c.computeConfig = value
            case ("DEFAULT", "trusted_users"):
                c.trustedUsers = try trustedUsers(value, path: checked, line: index + 1, shownPath: path)
            case ("hook_env", _):
                if let problem = HookEnvironment.problem(with: key) { throw ConfigError.bad(path, index + 1, problem) }
                c.hookEnvironment[key] = value
            case ("hook_timeout", _): c.hookTimeouts[key.hasSuffix(".sh") ? key : key + ".sh"] = try seconds()
            default: throw ConfigError.bad(path, index + 1, "unknown setting '\(key)' in [\(section)]")
            }
        }
        // Checked once the file is read: a script driver may come from its top_dir.
        if let name = c.virtDriver, (try? Drivers.named(name, scripts: DriverSession.scriptDrivers(config: c, environment: environment))) == nil {
            let scripts = DriverSession.scriptDrivers(config: c, environment: environment).keys.sorted()
            throw ConfigError.bad(path, virtDriverLine, "unknown driver '\(name)'; known: \((Drivers.names + scripts).joined(separator: ", "))")
        }
        return c
    }

    /// `trusted_users = stack, ci`: only root may widen who is trusted, so the file must be
    /// root's, on a path only root can change.
    static func trustedUsers(_ value: String, path: String, line: Int, shownPath: String) throws -> [uid_t] {
        do {
            try PathTrust(.rootOnly, purpose: "take trusted_users from the configuration").verify(path, as: .file)
        } catch let error as TrustError {
            throw ConfigError.bad(shownPath, line, "trusted_users is honoured only in a file root owns on a path only root can write (\(error))")
        }
        var uids: [uid_t] = []
        for name in value.split(separator: ",").map({ $0.trimmingSpaces() }) where !name.isEmpty {
            guard let entry = getpwnam(name) else { throw ConfigError.bad(shownPath, line, "trusted_users: no such user '\(name)'") }
            uids.append(entry.pointee.pw_uid)
        }
        return uids
    }

    /// The file as UTF-8 text, or an error that says why not: a directory, unreadable, or
    /// not text (naming the first line that is not).
    static func readText(_ path: String) throws -> String {
        var isDirectory = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory {
            throw ConfigError.unreadable(path, reason: "it is a directory")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = access(path, R_OK) == 0 ? "reading it failed" : Errno.current.description
            throw ConfigError.unreadable(path, reason: reason)
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            let lines = data.split(separator: 10, omittingEmptySubsequences: false)
            let bad = (lines.firstIndex { String(validating: $0, as: UTF8.self) == nil } ?? 0) + 1
            throw ConfigError.bad(path, bad, "not UTF-8 text")
        }
        return text
    }

    /// The environment commands read, with the config's values below the real ones.
    public func environment(over real: [String: String]) -> [String: String] {
        var env: [String: String] = [:]
        if let extrasDir { env["HVCTL_EXTRAS_DIR"] = extrasDir }
        if let hookTimeout { env["HVCTL_HOOK_TIMEOUT"] = String(hookTimeout) }
        if let computeConfig { env["HVCTL_COMPUTE_CONFIG"] = computeConfig }
        return env.merging(real) { $1 }
    }

    /// Driver settings the command line did not set.
    public func apply(to s: inout DriverSettings) {
        s.trust = hookPolicy
        for (driver, section) in driverSections {
            for (key, value) in section where s[driver, key] == nil { s[driver, key] = value }
        }
    }
}

public enum ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case missing(String)
    case unreadable(String, reason: String)
    case bad(String, Int, String)

    public var description: String {
        switch self {
        case .missing(let p): return "the configuration file \(p) does not exist (from --config or HVCTL_CONFIG)"
        case .unreadable(let p, let reason): return "cannot read the configuration file \(p): \(reason)"
        case .bad(let p, let line, let what): return "\(p):\(line): \(what)"
        }
    }
}

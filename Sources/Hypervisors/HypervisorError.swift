/// A driver verb that could not be done, and what to do about it.
public enum HypervisorError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownDriver(String, known: [String])
    case notInstalled(driver: String, install: String)
    case daemonStopped(driver: String, detail: String, start: String)
    case timedOut(String, after: Duration)
    case noSuchInstance(String, driver: String)
    case instanceExists(String, driver: String)
    case notManaged(String, driver: String)
    case invalidName(String, reason: String)
    /// hvctl.conf's `[driver]` section names a key the driver does not have (`takes` nil), or
    /// a value it does not take.
    case badSetting(driver: String, key: String, takes: String?)
    /// What a driver cannot do at all (instances of a script driver).
    case notSupported(String)
    case failed(String)

    public var description: String {
        switch self {
        case .unknownDriver(let name, let known):
            return "unknown driver '\(name)'; known drivers: \(known.joined(separator: ", "))"
        case .notInstalled(let driver, let install):
            return "\(driver) is not installed; install it with `\(install)` (or let hvctl do it: --install-packages)"
        case .daemonStopped(let driver, let detail, let start):
            return "\(driver) is not running (\(detail)); start it with `\(start)`"
        case .timedOut(let what, let after):
            return "\(what) within \(after.formattedSeconds)"
        case .noSuchInstance(let name, let driver):
            return "there is no \(driver) instance named '\(name)' (see `hvctl instance list --driver \(driver)`)"
        case .instanceExists(let name, let driver):
            return "a \(driver) instance named '\(name)' exists already"
        case .notManaged(let name, let driver):
            return "'\(name)' exists in \(driver) but was not created by hvctl; hvctl leaves it alone"
        case .invalidName(let name, let reason):
            return "invalid instance name '\(name)': \(reason)"
        case .badSetting(let driver, let key, let takes?):
            return "\(key) in [\(driver)] takes \(takes)"
        case .badSetting(let driver, let key, nil):
            return "unknown setting '\(key)' in [\(driver)]"
        case .notSupported(let message):
            return message
        case .failed(let message):
            return message
        }
    }
}

/// A driver verb that could not be done, and what to do about it.
public enum HypervisorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `source`: where the name came from ("--driver", "VIRT_DRIVER", "the DRIVER argument").
    case unknownDriver(String, known: [String], source: String? = nil)
    case notInstalled(driver: String, install: String)
    /// Someone masked the daemon's unit: hvctl does not undo that.
    case masked(driver: String, unit: String)
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
    /// An option's value the driver cannot take (--memory out of range, a relative path).
    case badRequest(String)
    /// A file the driver needs but cannot use as it is (a disk image, a kernel, busybox).
    case unusableFile(String)
    /// Something of someone else's is in the way (a libvirt network or pool hvctl did not make).
    case conflict(String)
    /// The instance exists but is not running, and the verb needs it to.
    case notRunning(String)
    /// An image an instance or the base needs is not in the engine (hvctl never pulls).
    case imageMissing(String)
    /// The hypervisor's daemon (or its package) did not do what systemd or apt was asked.
    case daemonFailed(String)
    /// A hypervisor script's verb failed or could not be run.
    case scriptFailed(String)

    public var description: String {
        switch self {
        case .unknownDriver(let name, let known, let source):
            return "unknown driver '\(name)'\(source.map { " (from \($0))" } ?? ""); known drivers: \(known.joined(separator: ", "))"
        case .notInstalled(let driver, let install):
            return "\(driver) is not installed; install it with `\(install)` (or let hvctl do it: --install-packages)"
        case .masked(let driver, let unit):
            return "\(unit) is masked, so systemd will not start \(driver); hvctl does not unmask it: `systemctl unmask \(unit)` if \(driver) should run here"
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
        case .notSupported(let message), .badRequest(let message), .unusableFile(let message), .conflict(let message),
            .notRunning(let message), .imageMissing(let message), .daemonFailed(let message), .scriptFailed(let message):
            return message
        }
    }
}

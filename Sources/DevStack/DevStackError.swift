import Core

/// What goes wrong between a DevStack checkout and its hooks, each in a line a user can act on.
public enum DevStackError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The settings step ended without telling hvctl what it found.
    case noSettings(unit: String, detail: String)
    case badSettings(path: String, reason: String)
    case unknownDriver(String, from: String)
    case badPluginName(String)
    /// enable_plugin NAME URL: no checkout at its place and it could not be cloned.
    case pluginMissing(name: String, url: String, directory: String, reason: String)
    case pluginNotAPlugin(name: String, directory: String)
    case stepFailed(String, detail: String)
    /// A root run whose STACK_USER is neither root nor trusted.
    case untrustedStackUser(String)

    public var description: String {
        switch self {
        case .noSettings(let unit, let detail):
            return "DevStack's settings could not be read (\(detail)); see `journalctl -u \(unit)`"
        case .badSettings(let path, let reason):
            return "DevStack's settings in \(path) are unreadable: \(reason)"
        case .unknownDriver(let name, let from):
            return "VIRT_DRIVER=\(name) (\(from)) is not a driver hvctl knows; see `hvctl drivers`"
        case .badPluginName(let name):
            return "enable_plugin \(name): a plugin name must be letters, digits, '.', '_' or '-'"
        case .pluginMissing(let name, let url, let directory, let reason):
            return "plugin \(name) is not at \(directory) and cannot be cloned from \(url) (\(reason)); clone it there yourself, e.g. `git clone \(url) \(directory)`"
        case .pluginNotAPlugin(let name, let directory):
            return "plugin \(name): \(directory) has no devstack/ directory; is it a DevStack plugin checkout?"
        case .untrustedStackUser(let name):
            return "refusing to run DevStack as root for STACK_USER \(name): DevStack hands that user directories (/etc/nova, $DEST/tempest/etc) and then writes into them as root; run hooks as that user (--user \(name)), set STACK_USER=root in local.conf, or name \(name) in trusted_users in hvctl.conf"
        case .stepFailed(let step, let detail):
            return "building DevStack's environment failed at \(step): \(detail)"
        }
    }
}

import FoundationEssentials
import Stack

/// What this process was started with: the environment, with the configuration file's
/// values below the real variables.
enum Invocation {
    static func config() throws -> HostConfig { try HostConfig.load() }

    static func environment(_ config: HostConfig) -> [String: String] {
        config.environment(over: ProcessInfo.processInfo.environment)
    }
}

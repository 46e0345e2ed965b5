import Core
import DevStack
import FoundationEssentials
import Hooks
import Hypervisors
import Systemd

/// Everything a driver command needs, gathered once: the driver, its context (systemd, state,
/// run id, settings) and where progress goes.
public struct DriverSession: Sendable {
    public var driver: any Hypervisor
    public var selection: DriverSelection
    public var context: DriverContext

    /// `driverName` nil: the active driver (VIRT_DRIVER, else the state's, else libvirt).
    /// Progress goes to `progress` and, with HVCTL_DRIVER and HVCTL_RUN, to the journal, so
    /// `hvctl logs DRIVER` shows what hvctl did next to what the daemon said.
    public static func open(
        driverName: String?, settings: DriverSettings = DriverSettings(),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        run: RunID = .generate(), selection chosen: DriverSelection? = nil, scripts found: [String: ScriptDriver]? = nil,
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> DriverSession {
        let config = try HostConfig.load(environment: environment)
        let store = StateStore.fromEnvironment(environment)
        let scripts = found ?? scriptDrivers(config: config, environment: environment)
        let selection = try chosen ?? DriverSelection.resolve(
            flag: driverName, environment: environment, state: try store.load(), configured: config.virtDriver, scripts: scripts)
        let driver = try Drivers.named(selection.name, scripts: scripts)
        let journaled: @Sendable (String) -> Void = { line in
            progress(line)
            JournalWriter.send("\(selection.name): \(line)", fields: ["HVCTL_DRIVER": selection.name, "HVCTL_RUN": run.value])
        }
        var context = try await makeContext(settings: settings, environment: environment, progress: journaled)
        context.run = run
        return DriverSession(driver: driver, selection: selection, context: context)
    }

    /// The script drivers a command that is not a flow knows: hvctl's hypervisors.d and,
    /// when hvctl.conf's top_dir is a DevStack tree, its lib/nova_plugins.
    public static func scriptDrivers(config: HostConfig, environment: [String: String]) -> [String: ScriptDriver] {
        scan(config: config, environment: environment).drivers
    }

    static func scan(config: HostConfig, environment: [String: String]) -> (drivers: [String: ScriptDriver], refused: [String: String]) {
        let tree = config.topDir.flatMap { DevStackTree(topDir: ExtrasDirectory.absolute($0)) }
        let trust = PathTrust(config.hookPolicy, purpose: "run hypervisor scripts")
        return ScriptDriverDirectory.scan(topDir: tree?.topDir, trust: trust, environment: environment)
    }

    /// One entry in the journal about this driver, for `hvctl logs DRIVER`.
    public func log(_ message: String) {
        JournalWriter.send("\(driver.name): \(message)", fields: ["HVCTL_DRIVER": driver.name, "HVCTL_RUN": context.run.value])
    }

    /// The context alone, for commands that look at every driver.
    public static func makeContext(
        settings: DriverSettings = DriverSettings(),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> DriverContext {
        let config = try HostConfig.load(environment: environment)
        let settings = Self.settings(settings, config: config, environment: environment)
        let systemd = try await SystemdManager.connect()
        return DriverContext(
            systemd: systemd, state: StateStore.fromEnvironment(config.environment(over: environment)), run: .generate(),
            settings: settings, progress: progress)
    }

    /// The command line's `settings` with what it left unset taken from the environment, then
    /// from hvctl.conf: the order the README promises for every setting.
    public static func settings(_ settings: DriverSettings, config: HostConfig, environment: [String: String]) -> DriverSettings {
        let environment = config.environment(over: environment)
        var settings = settings
        config.apply(to: &settings)
        if let conf = environment["HVCTL_COMPUTE_CONFIG"], !conf.isEmpty, settings.computeConfig == DriverSettings().computeConfig {
            settings.computeConfig = conf
        }
        return settings
    }
}

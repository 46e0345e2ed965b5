import Foundation
import Hypervisors
import Systemd

/// Everything a driver command needs, gathered once: the driver, its context (systemd, state,
/// run id, settings) and where progress goes.
public struct DriverSession: Sendable {
    public var driver: any Hypervisor
    public var selection: DriverSelection
    public var context: DriverContext

    /// `driverName` nil: the active driver (VIRT_DRIVER, else the state's, else libvirt).
    public static func open(
        driverName: String?, settings: DriverSettings = DriverSettings(),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> DriverSession {
        let context = try await makeContext(settings: settings, environment: environment, progress: progress)
        let selection = try DriverSelection.resolve(flag: driverName, environment: environment, state: try context.state.load())
        return DriverSession(driver: try Drivers.named(selection.name), selection: selection, context: context)
    }

    /// The context alone, for commands that look at every driver.
    public static func makeContext(
        settings: DriverSettings = DriverSettings(),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> DriverContext {
        var settings = settings
        if let conf = environment["HVCTL_COMPUTE_CONFIG"], !conf.isEmpty, settings.computeConfig == DriverSettings().computeConfig {
            settings.computeConfig = conf
        }
        let systemd = try await SystemdManager.connect()
        return DriverContext(
            systemd: systemd, state: StateStore.fromEnvironment(environment), run: .generate(), settings: settings, progress: progress)
    }

    /// install → configure → start, then DRIVER is the active driver.
    public func start() async throws -> StartResult {
        try await driver.install(context)
        try await driver.configure(context)
        let result = try await driver.start(context)
        try context.state.update { $0.activeDriver = driver.name }
        return result
    }
}

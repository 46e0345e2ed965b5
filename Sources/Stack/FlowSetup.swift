import DevStack
import FoundationEssentials
import Hooks
import Hypervisors
import Systemd

/// What a flow command needs before it takes the host lock: the driver's session and, in
/// DevStack mode, DevStack's settings when they choose the driver.
public enum FlowSetup {
    /// In DevStack mode without a driver named, VIRT_DRIVER is what DevStack's settings say
    /// (local.conf wins over the environment), so they are read first, by a unit; the flow
    /// reuses them. `preferred` is stackrc's default then. A dry run reads nothing: its plan
    /// uses `preferred`.
    public static func open(
        driver: String?, preferred: DriverSelection, hooks: HookPhase, settings: DriverSettings, dryRun: Bool,
        onHook: @escaping @Sendable (HookOutcome) -> Void, progress: @escaping @Sendable (String) -> Void
    ) async throws -> (DriverSession, DevStackEnvironment?) {
        let run = RunID.generate()
        var start: DevStackEnvironment?
        var selection: DriverSelection?
        let scripts = ScriptDriverDirectory.scan(topDir: hooks.devstack?.topDir, trust: hooks.trust).drivers
        if hooks.devstack != nil, driver == nil, !dryRun {
            let manager = try await SystemdManager.connect()
            if let (environment, _) = try await hooks.buildEnvironment(run: run, manager: manager, forcedDriver: nil, onOutcome: onHook) {
                do {
                    selection = try DriverSelection.fromDevStack(environment.settings.virtDriver, preferred: preferred, scripts: scripts)
                } catch {
                    await environment.finish()
                    throw error
                }
                start = environment
            }
        }
        do {
            // A driver named on the command line is checked as it was given (the DRIVER argument).
            if selection == nil && driver != nil { selection = try DriverSelection.checked(preferred, scripts: scripts) }
            let session = try await DriverSession.open(
                driverName: driver, settings: settings, run: run, selection: selection, scripts: scripts, progress: progress)
            return (session, start)
        } catch {
            await start?.finish()
            throw error
        }
    }
}

import Core
import Hypervisors

/// Which hypervisor driver a command acts on.
///
/// The order is DevStack's, extended by hvctl: an explicit `--driver`, then `VIRT_DRIVER` in
/// the environment, then the active driver in hvctl's state, then the configuration file's
/// virt_driver, then `libvirt` (DevStack's default).
public struct DriverSelection: Sendable, Equatable {
    public static var known: [String] { Drivers.names }
    public static let fallback = "libvirt"

    public var name: String
    /// Where the choice came from, for messages ("--driver", "VIRT_DRIVER", "default").
    public var source: String

    /// `scripts`: the script drivers found (ScriptDriverDirectory), known too.
    public static func resolve(
        flag: String?, environment: [String: String], state: HostState? = nil, configured: String? = nil,
        scripts: [String: ScriptDriver] = [:]
    ) throws -> DriverSelection {
        let choice = preferred(flag: flag, environment: environment, state: state, configured: configured)
        guard isKnown(choice.name, scripts: scripts) else { throw StackError.unknownDriver(choice.name, source: choice.source) }
        return choice
    }

    static func isKnown(_ name: String, scripts: [String: ScriptDriver]) -> Bool {
        (try? Drivers.named(name, scripts: scripts)) != nil
    }

    /// The choice before it is checked against the known drivers: in DevStack mode it is only
    /// stackrc's default, which local.conf may override.
    public static func preferred(
        flag: String?, environment: [String: String], state: HostState? = nil, configured: String? = nil
    ) -> DriverSelection {
        if let flag { return DriverSelection(name: flag, source: "--driver") }
        if let env = environment["VIRT_DRIVER"], !env.isEmpty { return DriverSelection(name: env, source: "VIRT_DRIVER") }
        if let active = state?.activeDriver { return DriverSelection(name: active, source: "the active driver") }
        if let configured { return DriverSelection(name: configured, source: "the configuration") }
        return DriverSelection(name: fallback, source: "default")
    }

    /// In DevStack mode, without --driver: what DevStack's settings chose. VIRT_DRIVER in
    /// local.conf wins over the environment's, as in DevStack.
    public static func fromDevStack(_ name: String, preferred: DriverSelection, scripts: [String: ScriptDriver] = [:]) throws -> DriverSelection {
        let source = name == preferred.name ? preferred.source : "VIRT_DRIVER in local.conf"
        guard isKnown(name, scripts: scripts) else { throw StackError.unknownDriver(name, source: source) }
        return DriverSelection(name: name, source: source)
    }
}

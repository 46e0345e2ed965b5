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
        flag: String?, flagSource: String = "--driver", environment: [String: String], state: HostState? = nil, configured: String? = nil,
        scripts: [String: ScriptDriver] = [:]
    ) throws -> DriverSelection {
        try checked(preferred(flag: flag, flagSource: flagSource, environment: environment, state: state, configured: configured), scripts: scripts)
    }

    /// `choice` when it names a driver hvctl knows; else the error says where the name came from.
    public static func checked(_ choice: DriverSelection, scripts: [String: ScriptDriver] = [:]) throws -> DriverSelection {
        do {
            _ = try Drivers.named(choice.name, scripts: scripts)
        } catch HypervisorError.unknownDriver(let name, let known, _) {
            throw HypervisorError.unknownDriver(name, known: known, source: choice.source)
        }
        return choice
    }

    /// The choice before it is checked against the known drivers: in DevStack mode it is only
    /// stackrc's default, which local.conf may override.
    public static func preferred(
        flag: String?, flagSource: String = "--driver", environment: [String: String], state: HostState? = nil, configured: String? = nil
    ) -> DriverSelection {
        if let flag { return DriverSelection(name: flag, source: flagSource) }
        if let env = environment["VIRT_DRIVER"], !env.isEmpty { return DriverSelection(name: env, source: "VIRT_DRIVER") }
        if let active = state?.activeDriver { return DriverSelection(name: active, source: "the active driver") }
        if let configured { return DriverSelection(name: configured, source: "the configuration") }
        return DriverSelection(name: fallback, source: "default")
    }

    /// In DevStack mode, without --driver: what DevStack's settings chose. VIRT_DRIVER in
    /// local.conf wins over the environment's, as in DevStack.
    public static func fromDevStack(_ name: String, preferred: DriverSelection, scripts: [String: ScriptDriver] = [:]) throws -> DriverSelection {
        let source = name == preferred.name ? preferred.source : "VIRT_DRIVER in local.conf"
        return try checked(DriverSelection(name: name, source: source), scripts: scripts)
    }
}

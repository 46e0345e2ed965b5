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

    public static func resolve(
        flag: String?, environment: [String: String], state: HostState? = nil, configured: String? = nil
    ) throws -> DriverSelection {
        let (raw, source): (String, String) =
            if let flag { (flag, "--driver") }
            else if let env = environment["VIRT_DRIVER"], !env.isEmpty { (env, "VIRT_DRIVER") }
            else if let active = state?.activeDriver { (active, "the active driver") }
            else if let configured { (configured, "the configuration") }
            else { (fallback, "default") }
        guard known.contains(raw) else { throw StackError.unknownDriver(raw, source: source) }
        return DriverSelection(name: raw, source: source)
    }
}

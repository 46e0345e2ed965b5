import Core
import Systemd

/// What a driver verb gets from the command that calls it.
public struct DriverContext: Sendable {
    public var systemd: SystemdManager
    public var state: StateStore
    /// The run id of this command, put on everything it creates.
    public var run: RunID
    public var settings: DriverSettings
    /// Progress for long waits ("waiting for dockerd… 5 s"); one line each.
    public var progress: @Sendable (String) -> Void
    /// Where a script driver's verbs run: given by the flow that calls them.
    public var scripts: (any ScriptVerbRunner)?

    public init(
        systemd: SystemdManager, state: StateStore, run: RunID, settings: DriverSettings = DriverSettings(),
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.systemd = systemd
        self.state = state
        self.run = run
        self.settings = settings
        self.progress = progress
    }
}

/// Per-host choices for the drivers: what every driver reads, and each driver's own section.
public struct DriverSettings: Sendable {
    /// Let `install` run apt-get when the hypervisor is missing.
    public var installPackages = false
    /// The consumer's INI file that gets `[DEFAULT] compute_driver` (a real nova.conf, or this).
    public var computeConfig = "/etc/hvctl/compute.conf"
    /// The image instances run from; nil: the driver's own base image.
    public var baseImage: String?
    /// A rootfs tarball to import as the base image.
    public var baseRootfs: String?
    /// How long a daemon may take to answer after its unit started.
    public var startTimeout: Duration = .seconds(90)
    /// Graceful stop of instances before they are killed.
    public var stopGrace: Duration = .seconds(10)
    /// Whose files a driver may hand to root or to a hypervisor as they are (a disk image a
    /// guest boots from): root, the invoking user, hvctl.conf's `trusted_users`.
    public var trust: TrustPolicy = .invoking
    /// Each driver's own settings, by driver and key, as text: hvctl.conf's `[NAME]` section
    /// (checked by the driver's `checkSetting`), with its command-line options over it. A
    /// driver reads its own through typed accessors in its folder.
    public var sections: [String: [String: String]] = [:]

    public init() {}

    public subscript(driver: String, key: String) -> String? {
        get { sections[driver]?[key] }
        set { sections[driver, default: [:]][key] = newValue }
    }
}

/// Labels and marks that say "hvctl made this".
public enum HvctlMark {
    public static let managed = "org.hvctl.managed"
    public static let run = "org.hvctl.run"
    public static let instance = "org.hvctl.instance"
}

extension SystemdManager {
    /// The unit's state once it is no longer on its way up (at most `limit`): a daemon
    /// starting after a reboot, or started by a run that just died, is waited for rather
    /// than reported unreachable.
    func settledUnit(_ name: String, limit: Duration = .seconds(60)) async throws -> UnitState {
        let deadline = ContinuousClock.now.advanced(by: limit)
        var state = try await unit(name)
        while state.activeState == "activating" && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            state = try await unit(name)
        }
        return state
    }
}

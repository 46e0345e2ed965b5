import Systemd

/// What `hvctl doctor` found of one driver.
public struct DriverCheck: Sendable, Equatable {
    public enum Status: String, Sendable, Codable {
        case ok, warn, fail, skipped
    }

    public var status: Status
    public var detail: String
    /// What to do about it, when something is to be done.
    public var fix: String?

    public init(_ status: Status, _ detail: String, fix: String? = nil) {
        self.status = status
        self.detail = detail
        self.fix = fix
    }

    public static let withoutSystemd = DriverCheck(
        .skipped, "not checked: systemd is not reachable, and without it hvctl cannot look at a daemon without possibly starting it")
}

/// What a driver's doctor check may use. It never starts anything: a daemon that may be
/// stopped is looked at through its units (nil `systemd`: not reachable), and a look at the
/// daemon itself is bounded by `timeout`.
public struct DoctorContext: Sendable {
    public var systemd: SystemdManager?
    public var settings: DriverSettings
    public var timeout: Duration

    public init(systemd: SystemdManager?, settings: DriverSettings, timeout: Duration) {
        self.systemd = systemd
        self.settings = settings
        self.timeout = timeout
    }
}

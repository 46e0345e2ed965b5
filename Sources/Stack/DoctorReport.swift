import Hypervisors

/// What `hvctl doctor` found: one check per thing hvctl relies on.
public struct DoctorReport: Sendable, Codable, Equatable {
    public struct Check: Sendable, Codable, Equatable {
        public typealias Status = DriverCheck.Status
        public var name: String
        public var status: Status
        public var detail: String
        /// What to do about it, when something is to be done.
        public var fix: String?
        /// Whether the selected driver needs this check to pass.
        public var required: Bool
    }

    public var driver: String
    public var driverSource: String
    public var checks: [Check]

    /// True when every check the driver needs passed (ok or warn).
    public var healthy: Bool {
        checks.allSatisfy { !$0.required || $0.status == .ok || $0.status == .warn }
    }

    /// The first required failure, as the one line a user reads.
    public var firstProblem: String? {
        checks.first { $0.required && ($0.status == .fail || $0.status == .skipped) }
            .map { "\($0.name): \($0.detail)" + ($0.fix.map { "; fix: \($0)" } ?? "") }
    }

    enum CodingKeys: String, CodingKey { case driver, driverSource, healthy, checks }

    public init(driver: String, driverSource: String, checks: [Check]) {
        self.driver = driver
        self.driverSource = driverSource
        self.checks = checks
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        driver = try c.decode(String.self, forKey: .driver)
        driverSource = try c.decode(String.self, forKey: .driverSource)
        checks = try c.decode([Check].self, forKey: .checks)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(driver, forKey: .driver)
        try c.encode(driverSource, forKey: .driverSource)
        try c.encode(healthy, forKey: .healthy)
        try c.encode(checks, forKey: .checks)
    }
}

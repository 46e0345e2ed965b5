/// A unit as systemd sees it right now.
public struct UnitState: Sendable, Equatable, Codable {
    public var name: String
    /// "loaded", "not-found", "masked", "error", …
    public var loadState: String
    /// "active", "inactive", "failed", "activating", "deactivating", "reloading"
    public var activeState: String
    public var subState: String
    /// The service's `Result` ("success", "exit-code", …); nil for unit types that have none.
    public var result: String?

    public var isActive: Bool { activeState == "active" || activeState == "reloading" }
    public var isKnown: Bool { loadState == "loaded" }
}

/// What a job ended with, as JobRemoved reports it.
public struct JobResult: Sendable, Equatable {
    public var unit: String
    /// "done", "skipped", "canceled", "timeout", "failed", "dependency", …
    public var result: String
    public var succeeded: Bool { result == "done" || result == "skipped" }
}

/// How systemd should queue a job (the `mode` argument of StartUnit and friends).
public enum JobMode: String, Sendable {
    case replace, fail, isolate
    case ignoreDependencies = "ignore-dependencies"
    case ignoreRequirements = "ignore-requirements"
}

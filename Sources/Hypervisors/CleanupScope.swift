/// Which of hvctl's marked resources a cleanup may touch, by the run id each carries.
///
/// `hvctl cleanup` takes everything marked except what belongs to a run still going; the
/// reaper takes exactly the resources of one run that died unfinished.
public struct CleanupScope: Sendable, Equatable {
    /// Only this run's resources; nil: every run's.
    public var run: String?
    /// Runs still going: their resources are never touched.
    public var sparing: Set<String>

    public static func everything(sparing live: Set<String> = []) -> CleanupScope {
        CleanupScope(run: nil, sparing: live)
    }

    public static func run(_ id: String) -> CleanupScope {
        CleanupScope(run: id, sparing: [])
    }

    /// Whether a resource marked with `run` (nil: marked, but with no run id) is in scope.
    public func includes(run resourceRun: String?) -> Bool {
        if let run { return resourceRun == run }
        guard let resourceRun else { return true }
        return !sparing.contains(resourceRun)
    }
}

/// Which of hvctl's marked resources a cleanup may touch, by the run id each carries.
///
/// `hvctl cleanup` takes everything marked except what belongs to a run still going; the
/// reaper takes exactly the resources of one run that died unfinished.
public struct CleanupScope: Sendable {
    /// Only this run's resources; nil: every run's.
    public var run: String?
    /// Whether a run is still going, asked the moment a resource is looked at (not from a
    /// list made earlier, which a run starting meanwhile would not be on).
    public var isLive: @Sendable (String) -> Bool
    /// Whether any run is going: resources marked without a run (the shared base image) are
    /// then left for later, since a going run may be about to use them.
    public var anyLive: @Sendable () -> Bool

    public static func everything(
        isLive: @escaping @Sendable (String) -> Bool = { _ in false }, anyLive: @escaping @Sendable () -> Bool = { false }
    ) -> CleanupScope {
        CleanupScope(run: nil, isLive: isLive, anyLive: anyLive)
    }

    public static func run(_ id: String) -> CleanupScope {
        CleanupScope(run: id, isLive: { _ in false }, anyLive: { false })
    }

    /// Whether a resource marked with `run` (nil: marked, but with no run id) is in scope.
    public func includes(run resourceRun: String?) -> Bool {
        if let run { return resourceRun == run }
        guard let resourceRun else { return !anyLive() }
        return !isLive(resourceRun)
    }

    /// Whether the resource is left only because its run is still going.
    public func spares(run resourceRun: String?) -> Bool {
        run == nil && !includes(run: resourceRun)
    }
}

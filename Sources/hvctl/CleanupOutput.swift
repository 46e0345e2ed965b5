import Stack

/// The JSON form: the report's fields, with its derived lists spelled out beside them, and
/// what scripts ask first: whether the host changed, and the error the command exits with.
struct CleanupOutput: Encodable {
    var report: HostCleanup.Report
    var dryRun: Bool
    var error: CleanupError?

    init(_ report: HostCleanup.Report, dryRun: Bool, error: CleanupError?) {
        self.report = report
        self.dryRun = dryRun
        self.error = error
    }

    /// A dry run changes nothing; a cleanup changed the host when it removed something or
    /// settled a dead run.
    var changed: Bool { !dryRun && (report.removedCount > 0 || !report.reapedRuns.isEmpty) }

    private enum Derived: String, CodingKey { case remaining, unreachable, removedCount, dryRun, changed, error }

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var derived = encoder.container(keyedBy: Derived.self)
        try derived.encode(report.remaining, forKey: .remaining)
        try derived.encode(report.unreachable, forKey: .unreachable)
        try derived.encode(report.removedCount, forKey: .removedCount)
        try derived.encode(dryRun, forKey: .dryRun)
        try derived.encode(changed, forKey: .changed)
        try derived.encode(error?.description, forKey: .error)
    }
}

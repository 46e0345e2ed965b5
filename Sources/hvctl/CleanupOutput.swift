import Stack

/// The JSON form: the report's fields, with its derived lists spelled out beside them.
struct CleanupOutput: Encodable {
    var report: HostCleanup.Report

    init(_ report: HostCleanup.Report) { self.report = report }

    private enum Derived: String, CodingKey { case remaining, unreachable, removedCount }

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var derived = encoder.container(keyedBy: Derived.self)
        try derived.encode(report.remaining, forKey: .remaining)
        try derived.encode(report.unreachable, forKey: .unreachable)
        try derived.encode(report.removedCount, forKey: .removedCount)
    }
}

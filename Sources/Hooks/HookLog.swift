import Systemd

/// Reads a hook call's output back from the journal.
public enum HookLog {
    /// The last `count` lines a unit logged. journald receives a unit's stdout through a
    /// stream it drains on its own schedule, so this waits until the line count holds still
    /// for `settle` (at most `limit`) before answering.
    /// `invocation`: the unit's InvocationID, when known — a run reuses some unit names (clean's
    /// second environment, a job started again after its wait), and only this invocation's
    /// lines are the failure's.
    public static func lastLines(
        of unit: String, invocation: String? = nil, count: Int, settle: Duration = .milliseconds(150), limit: Duration = .seconds(2)
    ) async throws -> [String] {
        let reader = try await JournalReader.open()
        try await reader.addMatch("_SYSTEMD_UNIT=\(unit)")
        if let invocation { try await reader.addMatch("_SYSTEMD_INVOCATION_ID=\(invocation)") }
        let end = ContinuousClock.now.advanced(by: limit)
        var lines: [String] = []
        var stableSince = ContinuousClock.now
        while true {
            try await reader.seekTail()
            var newest: [String] = []
            if try await reader.skipBackward(count) > 0 {
                newest.append(try await reader.current().message)
                newest += try await reader.entries().map(\.message)
            }
            if newest != lines {
                lines = newest
                stableSince = .now
            }
            if ContinuousClock.now - stableSince >= settle || ContinuousClock.now >= end { return lines.map(shortened) }
            _ = try await reader.wait(timeout: .milliseconds(50))
        }
    }

    /// The longest line shown on a terminal in a failure's summary; the journal has it whole.
    public static let lineLimit = 400

    /// A line cut at `lineLimit` characters, saying how much was left out: one hook printing
    /// a 10 MB line must not put a megabyte on the terminal.
    static func shortened(_ line: String) -> String {
        guard line.utf8.count > lineLimit else { return line }
        let kept = String(line.prefix(lineLimit))
        return kept + " … (\(line.utf8.count - kept.utf8.count) more bytes in the journal)"
    }

    /// The command a user types to see all of a unit's output.
    public static func journalctlCommand(for unit: String) -> String {
        "journalctl -u \(unit)"
    }
}

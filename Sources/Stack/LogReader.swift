import FoundationEssentials
import Hooks
import Systemd

/// Reads what a `LogQuery` selects from the journal, in order, in batches.
///
/// Hook lines are selected two ways at once, so none is lost: by the unit names of the run
/// (journald learns a unit from the stdout stream's header, always) and by the HVCTL_* fields
/// (which journald attaches from files systemd removes when a unit is collected, so a very
/// short unit's lines may lack them).
public struct LogReader {
    public let query: LogQuery
    /// The run shown, once resolved.
    public let run: String?
    let journal: JournalReader
    let regex: Regex<AnyRegexOutput>?
    let fields: [String]?
    /// The first line, when positioning already stood on it (the -n N path).
    var pending: LogLine?
    /// Set when the run's end marker went by.
    public private(set) var runEnded = false

    /// Whether the run being read is still going anywhere on this host (its liveness lock
    /// is held). A run killed before it could write its end marker, with no reaper to write
    /// one for it, is over all the same.
    public var runGoing: Bool { run.map(LiveLock.isHeld) ?? false }
    /// The cursor of the last entry read, for --show-cursor.
    public private(set) var lastCursor: String?
    /// Whether reading began at the journal's head (else -n stepped back from the tail).
    var startedFromHead = true
    /// The run's start and end markers, by timestamp, when they were looked up beforehand
    /// (so each line needs only its MESSAGE); nil: markers are told by their HVCTL_EVENT field.
    var markerStamps: Set<UInt64>?
    static let lookback = 64

    static let shortFields = [
        "MESSAGE", "_SYSTEMD_UNIT", "_PID", "SYSLOG_IDENTIFIER", RunMarker.hookField, RunMarker.phaseField, RunMarker.modeField,
    ]

    /// The fields each format needs; fewer fields, fewer strings made per line.
    static func fields(for format: LogFormat, _ query: LogQuery) -> [String]? {
        let always = [RunMarker.eventField, RunMarker.runField] + (query.maxPriority != nil ? ["PRIORITY"] : [])
        switch format {
        case .json: return nil
        case .cat: return ["MESSAGE"] + always
        case .short, .shortPrecise: return shortFields + always
        }
    }

    /// `follow`: the reader will wait for new lines (markers are then read as they come).
    public static func open(_ query: LogQuery, format: LogFormat = .short, follow: Bool = false) async throws -> LogReader {
        let allFields = format == .json
        let journal = try await JournalReader.open()
        var regex: Regex<AnyRegexOutput>? = nil
        if let p = query.pattern {
            do { regex = try Regex(p) } catch { throw LogError.badPattern(p) }
        }
        let run = try await resolveRun(query, journal)
        // -o cat of one finished read: the markers are found first, so that every line is
        // read by its MESSAGE alone, as journalctl -o cat reads it.
        var stamps: Set<UInt64>? = nil
        if format == .cat, !follow, query.maxPriority == nil, let run { stamps = try await markerStamps(of: run, journal) }
        try await addMatches(query, run: run, journal)
        var reader = LogReader(
            query: query, run: run, journal: journal, regex: regex,
            fields: allFields ? nil : (stamps != nil ? ["MESSAGE"] : Self.fields(for: format, query)))
        reader.markerStamps = stamps
        try await reader.position()
        return reader
    }

    private static func markerStamps(of run: String, _ journal: JournalReader) async throws -> Set<UInt64> {
        try await journal.addMatch("\(RunMarker.runField)=\(run)")
        try await journal.addMatch("\(RunMarker.eventField)=\(RunMarker.start)")
        try await journal.addMatch("\(RunMarker.eventField)=\(RunMarker.end)")
        try await journal.addMatch(Self.fromRoot)
        try await journal.seekHead()
        var stamps: Set<UInt64> = []
        while true {
            let batch = try await journal.nextBatch(limit: 1024, fields: [RunMarker.eventField])
            if batch.isEmpty { break }
            for e in batch { stamps.insert(e.realtimeMicroseconds) }
        }
        await journal.flushMatches()
        return stamps
    }

    private static func resolveRun(_ query: LogQuery, _ journal: JournalReader) async throws -> String? {
        switch query.scope {
        case .run(let id):
            try await journal.addMatch("\(RunMarker.runField)=\(id)")
            try await journal.addMatch(Self.fromRoot)
            try await journal.seekHead()
            let any = try await journal.next()
            await journal.flushMatches()
            if any == nil, try await !journal.uniqueValues(of: "_SYSTEMD_UNIT").contains(where: { $0.hasPrefix("hvctl-\(id)-") }) {
                throw LogError.noSuchRun(id)
            }
            return id
        case .latestRun:
            try await journal.addMatch("\(RunMarker.eventField)=\(RunMarker.start)")
            try await journal.addMatch(Self.fromRoot)
            try await journal.seekTail()
            let newest = try await journal.previous()
            await journal.flushMatches()
            // A newer run that journald missed (it was not running) must not leave this
            // one to pass for the latest.
            if let missed = UnjournaledRuns.newest(),
                newest.map({ Double($0.realtimeMicroseconds) / 1e6 < missed.noted.timeIntervalSince1970 }) ?? true
            {
                throw LogError.latestUnrecorded(missed.run)
            }
            guard let newest, let id = newest[RunMarker.runField] else { throw LogError.noRuns }
            return id
        default:
            return nil
        }
    }

    /// Any user can write an entry with HVCTL_RUN, HVCTL_EVENT or HVCTL_DRIVER in it
    /// (`logger --journald`), so entries picked by those fields count only when journald
    /// says root sent them (_UID is journald's own, trusted field): a forged run-start must
    /// not pass for the latest run, nor a forged line for a hook's. Hook units' own output is
    /// picked by _SYSTEMD_UNIT, which only journald sets.
    static let fromRoot = "_UID=0"

    private static func addMatches(_ q: LogQuery, run: String?, _ j: JournalReader) async throws {
        func or() async throws { try await j.addDisjunction() }
        switch q.scope {
        case .latestRun, .run:
            guard let run else { return }
            let units = try await j.uniqueValues(of: "_SYSTEMD_UNIT").filter { unit in
                guard let p = RunMarker.parse(unit: unit), p.run == run else { return false }
                return (q.hookFile == nil || p.hook == q.hookFile) && (q.phase == nil || p.phase == q.phase)
            }
            for unit in units.sorted() {
                try await j.addMatch("_SYSTEMD_UNIT=\(unit)")
                try await or()
            }
            try await j.addMatch("\(RunMarker.runField)=\(run)")
            try await j.addMatch(Self.fromRoot)
            if let hook = q.hookFile { try await j.addMatch("\(RunMarker.hookField)=\(hook)") }
            if let phase = q.phase { try await j.addMatch("\(RunMarker.phaseField)=\(phase)") }
            try await or()
            // The end marker, so a follower stops even when hook or phase filters exclude it.
            try await j.addMatch("\(RunMarker.runField)=\(run)")
            try await j.addMatch("\(RunMarker.eventField)=\(RunMarker.end)")
            try await j.addMatch(Self.fromRoot)
        case .allRuns:
            let units = try await j.uniqueValues(of: "_SYSTEMD_UNIT").filter { unit in
                guard let p = RunMarker.parse(unit: unit) else { return false }
                return (q.hookFile == nil || p.hook == q.hookFile) && (q.phase == nil || p.phase == q.phase)
            }
            for unit in units.sorted() {
                try await j.addMatch("_SYSTEMD_UNIT=\(unit)")
                try await or()
            }
            // Lines whose unit journald could not tell, by their fields.
            if let hook = q.hookFile {
                try await j.addMatch("\(RunMarker.hookField)=\(hook)")
                try await j.addMatch(Self.fromRoot)
                if let phase = q.phase { try await j.addMatch("\(RunMarker.phaseField)=\(phase)") }
            } else if let phase = q.phase {
                try await j.addMatch("\(RunMarker.phaseField)=\(phase)")
                try await j.addMatch(Self.fromRoot)
            } else {
                try await j.addMatch("_SYSTEMD_SLICE=hvctl.slice")
            }
        case .driver(let name, let units):
            for unit in units {
                try await j.addMatch("_SYSTEMD_UNIT=\(unit)")
                try await or()
                try await j.addMatch("_PID=1")
                try await j.addMatch("UNIT=\(unit)")
                try await or()
            }
            try await j.addMatch("\(RunMarker.driverField)=\(name)")
            try await j.addMatch(Self.fromRoot)
        case .unit(let unit):
            try await j.addMatch("_SYSTEMD_UNIT=\(unit)")
            try await or()
            try await j.addMatch("_PID=1")
            try await j.addMatch("UNIT=\(unit)")
        }
        if let p = q.maxPriority {
            try await j.addConjunction()
            for level in 0...max(0, min(7, p)) { try await j.addMatch("PRIORITY=\(level)") }
        }
    }

    private mutating func position() async throws {
        if let cursor = query.afterCursor {
            try await journal.seek(cursor: cursor)
            // seek_cursor stands before the entry; skip it if it is still there.
            if let e = try await journal.next(), !(await journal.isAt(cursor: cursor)) {
                pending = line(e)
            }
        } else if let since = query.since {
            try await journal.seek(realtimeMicroseconds: since)
        } else if let n = query.lines, regex == nil {
            // Step back a little further than asked: hvctl's markers and filtered lines also
            // stand in the journal; `readAll` trims to the last n. If that was not far enough
            // back, start over from the head.
            try await journal.seekTail()
            let wanted = n + Self.lookback
            let stepped = try await journal.skipBackward(wanted)
            if stepped > 0 { pending = line(try await journal.current()) }
            startedFromHead = stepped < wanted
        } else {
            try await journal.seekHead()
        }
    }

    /// The next lines (at most about `limit`), empty at the end for now. Entries past
    /// `until`, hvctl's markers and lines the pattern rejects are dropped here.
    public mutating func read(limit: Int = 4096) async throws -> [LogLine] {
        var out: [LogLine] = []
        if let p = pending, keep(p) { out.append(p) }
        pending = nil
        let batch = try await journal.nextBatch(limit: limit, fields: fields)
        if !batch.isEmpty { lastCursor = try await journal.cursor() }
        for entry in batch {
            if let until = query.until, entry.realtimeMicroseconds > until { break }
            if entry[RunMarker.eventField] == RunMarker.end, entry[RunMarker.runField] == run { runEnded = true }
            let l = line(entry)
            if keep(l) { out.append(l) }
        }
        return out
    }

    /// Everything from here to the end, trimmed to the last `-n` lines.
    public mutating func readAll() async throws -> [LogLine] {
        var all = try await drain()
        if let n = query.lines, all.count < n, !startedFromHead {
            // Markers or filtered lines ate into the lookback: read the whole selection.
            try await journal.seekHead()
            pending = nil
            startedFromHead = true
            all = try await drain()
        }
        if let n = query.lines, all.count > n { all.removeFirst(all.count - n) }
        return all
    }

    private mutating func drain() async throws -> [LogLine] {
        var all: [LogLine] = []
        while true {
            let batch = try await read()
            if batch.isEmpty { break }
            all += batch
        }
        return all
    }

    /// Every selected entry from the start, exactly as stored (hvctl's markers included:
    /// they are part of the record), for export.
    public func rawEntries() async throws -> [RawJournalEntry] {
        try await journal.setDataThreshold(0)
        if let since = query.since { try await journal.seek(realtimeMicroseconds: since) } else { try await journal.seekHead() }
        var all: [RawJournalEntry] = []
        while true {
            let batch = try await journal.nextRawBatch(limit: 1024)
            if batch.isEmpty { break }
            for e in batch {
                if let until = query.until, e.realtimeMicroseconds > until { return all }
                all.append(e)
            }
        }
        return all
    }

    /// Waits for new entries (sd_journal_wait), at most `timeout`.
    public func waitForMore(_ timeout: Duration) async throws {
        _ = try await journal.wait(timeout: timeout)
    }

    private func keep(_ l: LogLine) -> Bool {
        if let markerStamps {
            // A marker: its timestamp, and hvctl's wording (a hook line logged in the same
            // microsecond is not taken for one).
            if markerStamps.contains(l.entry.realtimeMicroseconds) && l.entry.message.hasPrefix("hvctl run ") { return false }
        } else if l.entry[RunMarker.eventField] != nil {
            return false
        }
        if let regex, (try? regex.firstMatch(in: l.entry.message)) == nil { return false }
        if let p = query.maxPriority, let level = Int(l.entry["PRIORITY"] ?? ""), level > p { return false }
        return true
    }

    private func line(_ e: JournalEntry) -> LogLine {
        if let hook = e[RunMarker.hookField] {
            return LogLine(entry: e, hook: hook, mode: e[RunMarker.modeField], phase: e[RunMarker.phaseField])
        }
        if let unit = e["_SYSTEMD_UNIT"], let p = RunMarker.parse(unit: unit) {
            return LogLine(entry: e, hook: p.hook, mode: ["unstack", "clean"].contains(p.phase) ? p.phase : "stack", phase: p.phase)
        }
        return LogLine(entry: e, hook: nil, mode: nil, phase: nil)
    }
}

import CSystemd
import Glibc
import PinnedThread
import SystemPackage

/// A reader over the local journal (sd-journal).
///
/// sd-journal permits an object to be used only from the thread that opened it, for its
/// whole life, so every call — and the isolated deinit that closes it — runs on one pinned
/// thread. Matches follow sd-journal's rules: the same field ORs, different fields AND,
/// `addDisjunction()` starts an OR branch; adding a match resets the position, so add matches
/// first, then seek.
public actor JournalReader {
    public enum Source: Sendable, Equatable {
        /// The system's and all users' journals on this machine (journalctl's default).
        case local
        /// Journal files in one directory, e.g. a copy taken from another host.
        case directory(String)
    }

    public enum WaitResult: Sendable { case nothingNew, appended, invalidated }

    private let executor: PinnedExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private var opened: OpaquePointer?
    /// The sd_journal, for a C call: checks first that the call runs on the thread that
    /// opened it, the only one sd-journal allows.
    private var journal: OpaquePointer? {
        executor.preconditionOnThread()
        return opened
    }

    private init() {
        executor = PinnedExecutor(name: "hvctl-journal")
    }

    public static func open(_ source: Source = .local) async throws -> JournalReader {
        let reader = JournalReader()
        try await reader.openJournal(source)
        return reader
    }

    isolated deinit {
        if let journal { sd_journal_close(journal) }
        executor.shutdown()
    }

    private func openJournal(_ source: Source) throws {
        executor.preconditionOnThread()
        var j: OpaquePointer? = nil
        let r: Int32
        switch source {
        case .local:
            r = sd_journal_open(&j, Int32(SD_JOURNAL_LOCAL_ONLY))
        case .directory(let path):
            r = sd_journal_open_directory(&j, path, 0)
        }
        try check(r, "open")
        opened = j
    }

    private func check(_ r: Int32, _ operation: String) throws {
        if r < 0 { throw SystemdError.journal(operation: operation, message: Errno(returned: r).description) }
    }

    // MARK: matches

    /// `FIELD=value`, matched exactly.
    public func addMatch(_ match: String) throws {
        guard let eq = match.firstIndex(of: "="), eq != match.startIndex,
            match[..<eq].allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "_" })
        else {
            throw SystemdError.journal(operation: "match '\(match)'", message: "a match is FIELD=value with an upper-case FIELD")
        }
        try check(match.withCString { sd_journal_add_match(journal, $0, 0) }, "match '\(match)'")
    }

    public func addDisjunction() throws { try check(sd_journal_add_disjunction(journal), "OR") }
    public func addConjunction() throws { try check(sd_journal_add_conjunction(journal), "AND") }
    public func flushMatches() { sd_journal_flush_matches(journal) }

    // MARK: moving

    public func seekHead() throws { try check(sd_journal_seek_head(journal), "seek head") }
    public func seekTail() throws { try check(sd_journal_seek_tail(journal), "seek tail") }

    /// Positions at the entry of `cursor` (or the closest one, if it was rotated away); the
    /// following `next()` returns that entry.
    public func seek(cursor: String) throws {
        try check(sd_journal_seek_cursor(journal, cursor), "seek cursor")
    }

    /// Positions so that `next()` returns entries at or after this time.
    public func seek(realtimeMicroseconds usec: UInt64) throws {
        try check(sd_journal_seek_realtime_usec(journal, usec), "seek time")
    }

    /// Moves to the next matching entry and returns it, or nil at the end.
    public func next() throws -> JournalEntry? {
        let r = sd_journal_next(journal)
        try check(r, "next")
        return r == 0 ? nil : try currentEntry()
    }

    public func previous() throws -> JournalEntry? {
        let r = sd_journal_previous(journal)
        try check(r, "previous")
        return r == 0 ? nil : try currentEntry()
    }

    /// Steps back over up to `count` entries and stands on the last one reached, which
    /// `current()` reads; `next()` continues after it. After `seekTail()`, this is how the
    /// newest `count` entries are found.
    @discardableResult
    public func skipBackward(_ count: Int) throws -> Int {
        let r = sd_journal_previous_skip(journal, UInt64(max(0, count)))
        try check(r, "skip")
        return Int(r)
    }

    /// Up to `limit` entries from the current position on.
    public func entries(limit: Int = .max) throws -> [JournalEntry] {
        var out: [JournalEntry] = []
        while out.count < limit, let e = try next() { out.append(e) }
        return out
    }

    /// Blocks this reader (not the caller's thread pool) until the journal changes or
    /// `timeout` passes.
    public func wait(timeout: Duration) throws -> WaitResult {
        let r = sd_journal_wait(journal, timeout.microseconds)
        try check(r, "wait")
        switch r {
        case Int32(SD_JOURNAL_APPEND): return .appended
        case Int32(SD_JOURNAL_INVALIDATE): return .invalidated
        default: return .nothingNew
        }
    }

    /// The entry the reader stands on.
    public func current() throws -> JournalEntry { try currentEntry() }

    /// Up to `limit` following entries in one call (one hop to the reader's thread, not one
    /// per entry). With `fields`, only those are read — far cheaper than every field; the
    /// cursor only when "__CURSOR" is among them.
    public func nextBatch(limit: Int, fields: [String]? = nil) throws -> [JournalEntry] {
        var out: [JournalEntry] = []
        out.reserveCapacity(min(limit, 4096))
        let wanted = fields.map(WantedFields.init)
        while out.count < limit {
            let r = sd_journal_next(journal)
            try check(r, "next")
            if r == 0 { break }
            out.append(try wanted.map { try currentEntry(only: $0) } ?? currentEntry())
        }
        return out
    }

    /// Up to `limit` following entries, exactly as stored (see `currentRaw`).
    public func nextRawBatch(limit: Int) throws -> [RawJournalEntry] {
        var out: [RawJournalEntry] = []
        while out.count < limit {
            let r = sd_journal_next(journal)
            try check(r, "next")
            if r == 0 { break }
            out.append(try currentRaw())
        }
        return out
    }

    /// Whether the reader stands on the entry of `cursor`.
    public func isAt(cursor: String) -> Bool {
        sd_journal_test_cursor(journal, cursor) > 0
    }

    /// Every value a field has anywhere in the journal (sd_journal_query_unique); matches
    /// do not apply.
    public func uniqueValues(of field: String) throws -> [String] {
        try check(sd_journal_query_unique(journal, field), "unique \(field)")
        sd_journal_restart_unique(journal)
        var values: [String] = []
        var data: UnsafeRawPointer? = nil
        var length = 0
        let prefix = field.utf8.count + 1
        while sd_journal_enumerate_unique(journal, &data, &length) > 0 {
            guard let data, length >= prefix else { continue }
            values.append(String(decoding: UnsafeRawBufferPointer(start: data + prefix, count: length - prefix), as: UTF8.self))
        }
        return values
    }

    /// Field values longer than this are cut (sd-journal's default is 64 KiB); 0: no limit.
    public func setDataThreshold(_ bytes: Int) throws {
        try check(sd_journal_set_data_threshold(journal, bytes), "threshold")
    }

    /// The current entry exactly as stored: every field's raw bytes, plus the monotonic
    /// timestamp and boot id — what the journal export format carries.
    public func currentRaw() throws -> RawJournalEntry {
        var fields: [(String, [UInt8])] = []
        forEachField { bytes in
            guard let eq = bytes.firstIndex(of: UInt8(ascii: "=")) else { return }
            fields.append((String(decoding: bytes[..<eq], as: UTF8.self), Array(bytes[(eq + 1)...])))
        }
        var realtime: UInt64 = 0
        try check(sd_journal_get_realtime_usec(journal, &realtime), "timestamp")
        var monotonic: UInt64 = 0
        var boot = sd_id128_t()
        try check(sd_journal_get_monotonic_usec(journal, &monotonic, &boot), "monotonic timestamp")
        let bootID = withUnsafeBytes(of: boot.bytes) { $0.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }
        return RawJournalEntry(
            fields: fields, cursor: try cursor(), realtimeMicroseconds: realtime,
            monotonicMicroseconds: monotonic, bootID: bootID)
    }

    // MARK: reading

    /// One pass over the entry's fields (as journalctl does), making Strings only of the
    /// wanted ones: sd_journal_get_data per field would walk the entry once per name.
    /// Field names as the `NAME=` prefixes the journal's data starts with, made once per
    /// batch: per entry, a field is then picked by one memcmp and no allocation.
    struct WantedFields {
        var prefixes: [(name: String, bytes: [UInt8])]
        var firstBytes: [UInt8]
        var cursor: Bool

        init(_ names: [String]) {
            prefixes = names.filter { $0 != "__CURSOR" }.map { ($0, Array($0.utf8) + [UInt8(ascii: "=")]) }
            firstBytes = Array(Set(prefixes.map(\.bytes[0])))
            cursor = names.contains("__CURSOR")
        }
    }

    private func currentEntry(only wanted: WantedFields) throws -> JournalEntry {
        var fields: [String: String] = [:]
        fields.reserveCapacity(wanted.prefixes.count)
        if wanted.prefixes.count == 1, let (name, prefix) = wanted.prefixes.first {
            // One field (MESSAGE for -o cat): looked up by name, which stops where it is found,
            // as journalctl does, instead of walking all of the entry's fields.
            var data: UnsafeRawPointer? = nil
            var length = 0
            if sd_journal_get_data(journal, name, &data, &length) >= 0, let data, length >= prefix.count {
                fields[name] = String(decoding: UnsafeRawBufferPointer(start: data + prefix.count, count: length - prefix.count), as: UTF8.self)
            }
        } else {
            forEachField { bytes in
                // Most of an entry's fields are journald's own (_PID, _SYSTEMD_…): the first
                // byte rules them out before any comparison.
                guard let first = bytes.first, wanted.firstBytes.contains(first) else { return }
                for (name, prefix) in wanted.prefixes where bytes.count >= prefix.count && prefix[0] == first {
                    let same = prefix.withUnsafeBytes { memcmp($0.baseAddress!, bytes.baseAddress!, prefix.count) == 0 }
                    guard same else { continue }
                    fields[name] = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[prefix.count...]), as: UTF8.self)
                    break
                }
            }
        }
        var usec: UInt64 = 0
        try check(sd_journal_get_realtime_usec(journal, &usec), "timestamp")
        // Formatting a cursor costs about as much as reading the entry: only when asked for.
        return JournalEntry(fields: fields, realtimeMicroseconds: usec, cursor: wanted.cursor ? try cursor() : "")
    }

    /// Every `FIELD=value` of the current entry, as bytes valid only inside `body`. A corrupt
    /// field ends the walk; what was read so far is still worth showing.
    private func forEachField(_ body: (UnsafeRawBufferPointer) -> Void) {
        sd_journal_restart_data(journal)
        var data: UnsafeRawPointer? = nil
        var length = 0
        while sd_journal_enumerate_data(journal, &data, &length) > 0 {
            guard let data else { continue }
            body(UnsafeRawBufferPointer(start: data, count: length))
        }
    }

    /// The cursor of the entry the reader stands on.
    public func cursor() throws -> String {
        var cursor: UnsafeMutablePointer<CChar>? = nil
        try check(sd_journal_get_cursor(journal, &cursor), "cursor")
        defer { free(cursor) }
        return cursor.map { String(cString: $0) } ?? ""
    }

    private func currentEntry() throws -> JournalEntry {
        var fields: [String: String] = [:]
        forEachField { bytes in
            guard let eq = bytes.firstIndex(of: UInt8(ascii: "=")) else { return }
            fields[String(decoding: bytes[..<eq], as: UTF8.self)] = String(decoding: bytes[(eq + 1)...], as: UTF8.self)
        }
        var usec: UInt64 = 0
        try check(sd_journal_get_realtime_usec(journal, &usec), "timestamp")
        return JournalEntry(fields: fields, realtimeMicroseconds: usec, cursor: try cursor())
    }
}

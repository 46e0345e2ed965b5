import Core
import FoundationEssentials
import Hypervisors
import Systemd

/// `hvctl logs --export DIR`: for CI artifacts, one text file per hook unit of the run and
/// the raw entries in the journal export format (systemd's JOURNAL_EXPORT_FORMATS), which
/// `systemd-journal-remote` loads elsewhere.
public enum LogExport {
    public struct Summary: Sendable {
        public var files: [String]
        public var entries: Int
    }

    /// Root writes here: the directory and every one above it must be safe (the trust rule),
    /// or a link another user put in it would aim root's write at a file of their choosing.
    public static func write(_ lines: [LogLine], raw: [RawJournalEntry], run: String?, to given: String) throws -> Summary {
        let directory = try RuntimePaths.prepare(given, purpose: "export logs to \(given)")
        var byUnit: [String: [UInt8]] = [:]
        var formatter = LogFormatter(format: .shortPrecise)
        for line in lines {
            let unit = line.entry["_SYSTEMD_UNIT"] ?? "other"
            formatter.append(line, to: &byUnit[unit, default: []])
        }
        var files: [String] = []
        for (unit, bytes) in byUnit.sorted(by: { $0.key < $1.key }) {
            let name = unit.replacingEvery("/", with: "_") + ".log"
            try AtomicFile.write(Data(bytes), to: directory + "/" + name, mode: 0o644)
            files.append(name)
        }
        let journalName = "\(run.map { "run-\($0)" } ?? "entries").journal-export"
        try AtomicFile.write(Data(exportFormat(raw)), to: directory + "/" + journalName, mode: 0o644)
        files.append(journalName)
        return Summary(files: files, entries: raw.count)
    }

    /// Text fields as NAME=value lines; a value with a newline or invalid UTF-8 as NAME, a
    /// little-endian 64-bit length and the bytes; entries separated by an empty line.
    public static func exportFormat(_ entries: [RawJournalEntry]) -> [UInt8] {
        var out: [UInt8] = []
        for e in entries {
            out += "__CURSOR=\(e.cursor)\n__REALTIME_TIMESTAMP=\(e.realtimeMicroseconds)\n".utf8
            out += "__MONOTONIC_TIMESTAMP=\(e.monotonicMicroseconds)\n".utf8
            for (name, value) in e.fields {
                out += name.utf8
                if !value.contains(10), String(validating: value, as: UTF8.self) != nil {
                    out.append(61)
                    out += value
                } else {
                    out.append(10)
                    var n = UInt64(value.count).littleEndian
                    withUnsafeBytes(of: &n) { out += $0 }
                    out += value
                }
                out.append(10)
            }
            out.append(10)
        }
        return out
    }
}

import Foundation

/// An INI file edited in place: setting a key keeps every other line, comment and key as it
/// was, which is what DevStack's `iniset` promised for nova.conf and what users expect of a
/// tool that touches their config.
public struct IniFile: Sendable, Equatable {
    public private(set) var lines: [String]

    public init(text: String) {
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        self.lines = lines
    }

    public var text: String { lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n" }

    public static func load(_ path: String) throws -> IniFile {
        guard FileManager.default.fileExists(atPath: path) else { return IniFile(text: "") }
        return IniFile(text: try String(contentsOfFile: path, encoding: .utf8))
    }

    public func value(_ section: String, _ key: String) -> String? {
        guard let range = range(of: section) else { return nil }
        for i in range where Self.key(of: lines[i]) == key {
            return Self.value(of: lines[i])
        }
        return nil
    }

    /// Sets `key = value` in `section`, adding the section (at the end) or the key (right
    /// after the section header) when missing.
    public mutating func set(_ section: String, _ key: String, _ value: String) {
        guard let range = range(of: section) else {
            if let last = lines.last, !last.trimmingCharacters(in: .whitespaces).isEmpty { lines.append("") }
            lines += ["[\(section)]", "\(key) = \(value)"]
            return
        }
        for i in range where Self.key(of: lines[i]) == key {
            lines[i] = "\(key) = \(value)"
            return
        }
        lines.insert("\(key) = \(value)", at: range.lowerBound)
    }

    /// Writes atomically: a temp file beside the target, then rename, so a crash leaves the
    /// old file or the new one, never half of one. Keeps the old file's mode.
    /// An unchanged file is not rewritten.
    public func write(to path: String) throws {
        let data = Data(text.utf8)
        if FileManager.default.contents(atPath: path) == data { return }
        try AtomicFile.write(data, to: path, mode: 0o644)
    }

    /// The lines after `[section]` up to the next header.
    private func range(of section: String) -> Range<Int>? {
        guard let header = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "[\(section)]" }) else {
            return nil
        }
        let end = lines[(header + 1)...].firstIndex { $0.trimmingCharacters(in: .whitespaces).hasPrefix("[") } ?? lines.count
        return (header + 1)..<end
    }

    private static func key(of line: String) -> String? {
        let t = line.trimmingCharacters(in: .whitespaces)
        guard !t.hasPrefix("#"), !t.hasPrefix(";"), let eq = t.firstIndex(of: "=") else { return nil }
        return t[..<eq].trimmingCharacters(in: .whitespaces)
    }

    private static func value(of line: String) -> String {
        guard let eq = line.firstIndex(of: "=") else { return "" }
        return line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
    }
}

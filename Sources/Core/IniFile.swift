import FoundationEssentials
import Glibc
import SystemPackage

/// An INI file edited in place: setting a key keeps every other line, comment and key as it
/// was, which is what DevStack's `iniset` promised for nova.conf and what users expect of a
/// tool that touches their config.
public struct IniFile: Sendable, Equatable {
    /// Without their line endings.
    public private(set) var lines: [String]
    /// "\r\n" for a file written on Windows (or by a tool that does so): kept on every line.
    public private(set) var lineEnding = "\n"

    public init(text: String) {
        // Bytes, not Characters: to Swift "\r\n" is one Character, which neither splits on
        // "\n" nor ends with "\r".
        var raw = Array(text.utf8).split(separator: 10, omittingEmptySubsequences: false).map(Array.init)
        if raw.last?.isEmpty == true { raw.removeLast() }
        if !raw.isEmpty && raw.allSatisfy({ $0.last == 13 }) {
            lineEnding = "\r\n"
            raw = raw.map { Array($0.dropLast()) }
        }
        lines = raw.map { String(decoding: $0, as: UTF8.self) }
    }

    public var text: String { lines.isEmpty ? "" : lines.joined(separator: lineEnding) + lineEnding }

    /// The file at `path`, or an empty one when there is none. A path that is not a regular
    /// file (a directory; a FIFO, which would block the read forever) is refused by name.
    public static func load(_ path: String) throws -> IniFile {
        var st = stat()
        guard stat(path, &st) == 0 else {
            if errno == ENOENT { return IniFile(text: "") }
            throw IniFileError("cannot read \(path): \(Errno.current.description)")
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw IniFileError("\(path) is \(AtomicFile.kind(st.st_mode)), not an INI file; point --compute-config at a regular file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IniFileError("cannot read \(path): \(Errno.current.description)")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw IniFileError("\(path) is not UTF-8 text; hvctl leaves it as it is")
        }
        return IniFile(text: text)
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
            if let last = lines.last, !last.trimmingSpaces().isEmpty { lines.append("") }
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
    /// old file or the new one, never half of one. Keeps the old file's owner, group, mode,
    /// line endings and symlink (AtomicFile). An unchanged file is not rewritten. hvctl
    /// writes as root: every directory on the way to the file (and to a symlink's target)
    /// must be safe, or another user could swap in a link to a file of root's.
    public func write(to path: String) throws {
        let data = Data(text.utf8)
        let trust = PathTrust(.invoking, purpose: "edit \(path)")
        // Its directory made first (no further than what is safe), so that what is checked
        // is the directory the file is then written in, not a prefix of it someone could
        // still plant a link in.
        let dir = PathName.parent(of: PathTrust.absolute(path))
        var st = stat()
        if lstat(dir, &st) != 0 {
            try trust.verifyExistingPrefix(dir)
            try AtomicFile.makeDirectory(dir)
        }
        let target = try trust.verifyWritable(path)
        if FileManager.default.contents(atPath: target) == data { return }
        try AtomicFile.write(data, to: target, mode: 0o644)
    }

    /// The lines after `[section]` up to the next header. A header may carry a comment
    /// (`[DEFAULT] # main`), as oslo.config reads it.
    private func range(of section: String) -> Range<Int>? {
        guard let header = lines.firstIndex(where: { Self.section(of: $0) == section }) else { return nil }
        let end = lines[(header + 1)...].firstIndex { Self.section(of: $0) != nil } ?? lines.count
        return (header + 1)..<end
    }

    /// The section a header line opens, or nil for any other line.
    static func section(of line: String) -> String? {
        let t = line.trimmingSpaces()
        guard t.hasPrefix("["), let close = t.firstIndex(of: "]") else { return nil }
        let rest = t[t.index(after: close)...].trimmingSpaces()
        guard rest.isEmpty || rest.hasPrefix("#") || rest.hasPrefix(";") else { return nil }
        return t[t.index(after: t.startIndex)..<close].trimmingSpaces()
    }

    private static func key(of line: String) -> String? {
        let t = line.trimmingSpaces()
        guard !t.hasPrefix("#"), !t.hasPrefix(";"), let eq = t.firstIndex(of: "=") else { return nil }
        return t[..<eq].trimmingSpaces()
    }

    private static func value(of line: String) -> String {
        guard let eq = line.firstIndex(of: "=") else { return "" }
        return line[line.index(after: eq)...].trimmingSpaces()
    }
}

/// An INI file hvctl was asked to edit and cannot read as one; the message names it and says why.
public struct IniFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

import Core
import FoundationEssentials
import Glibc
import SystemPackage

/// What DevStack's settings decided, as the settings step wrote it for hvctl: NUL-separated
/// `NAME=value` records. The hooks' user wrote the file, so it is read as untrusted data: a
/// regular file, never through a link, at most 1 MiB.
public struct DevStackSettings: Sendable, Equatable {
    public var virtDriver: String
    public var dest: String
    public var stackUser: String
    public var enabledServices: String
    public var plugins: [PluginEntry]

    /// One `enable_plugin NAME URL [REF]`, as DevStack recorded it (GITREPO, GITBRANCH, GITDIR).
    public struct PluginEntry: Sendable, Equatable, Codable {
        public var name: String
        public var url: String
        public var branch: String
        public var directory: String
    }

    public static let limit = 1 << 20

    /// Before the settings step has run.
    static let empty = DevStackSettings(virtDriver: "", dest: "", stackUser: "", enabledServices: "", plugins: [])

    public static func read(_ path: String) throws -> DevStackSettings {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { throw DevStackError.badSettings(path: path, reason: Errno.current.description) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw DevStackError.badSettings(path: path, reason: "not a regular file")
        }
        guard st.st_size <= limit else { throw DevStackError.badSettings(path: path, reason: "larger than 1 MiB") }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw DevStackError.badSettings(path: path, reason: "short read") }
        return try parse(bytes, path: path)
    }

    static func parse(_ bytes: [UInt8], path: String) throws -> DevStackSettings {
        var values: [String: String] = [:]
        var plugins: [PluginEntry] = []
        for record in bytes.split(separator: 0) {
            let text = String(decoding: record, as: UTF8.self)
            guard let eq = text.firstIndex(of: "=") else { continue }
            let key = String(text[..<eq])
            let value = String(text[text.index(after: eq)...])
            if key == "PLUGIN" {
                // name US url US branch US directory
                let parts = value.split(separator: "\u{1f}", omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 4 else { throw DevStackError.badSettings(path: path, reason: "a plugin record has \(parts.count) fields") }
                plugins.append(PluginEntry(name: parts[0], url: parts[1], branch: parts[2], directory: parts[3]))
            } else {
                values[key] = value
            }
        }
        guard values["END"] == "1" else { throw DevStackError.badSettings(path: path, reason: "it is incomplete") }
        return DevStackSettings(
            virtDriver: values["VIRT_DRIVER"] ?? "", dest: values["DEST"] ?? "", stackUser: values["STACK_USER"] ?? "",
            enabledServices: values["ENABLED_SERVICES"] ?? "", plugins: plugins)
    }
}

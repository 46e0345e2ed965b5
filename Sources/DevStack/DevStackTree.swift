import Core
import FoundationEssentials
import Glibc

/// A DevStack checkout: TOP_DIR with stack.sh, functions and stackrc. hvctl then runs hooks
/// in DevStack's own environment, built from the tree (DevStackEnvironment), instead of its
/// own few functions.
public struct DevStackTree: Sendable, Equatable {
    /// Physical, absolute.
    public var topDir: String

    /// nil when `topDir` is not a DevStack checkout.
    public init?(topDir: String) {
        let top = RuntimePaths.normalized(topDir)
        for file in Self.markers where !Self.isRegularFile(top + "/" + file) { return nil }
        self.topDir = top
    }

    /// What makes a directory a DevStack checkout.
    public static let markers = ["stack.sh", "functions", "stackrc"]

    public var extrasDirectory: String { topDir + "/extras.d" }
    public var localConf: String { topDir + "/local.conf" }

    /// Does local.conf have a meta section for `phase` (`[[post-config|$NOVA_CONF]]`)? Then
    /// stack.sh merges it after that phase, and so does hvctl.
    public func hasMetaSections(for phase: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: localConf) else { return false }
        let prefix = "[[\(phase)|"
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).contains {
            $0.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix(prefix)
        }
    }

    /// STACK_USER as stackrc decides it for root (`stack`), unless local.conf's localrc section
    /// sets it to a plain value: what DevStack code runs `id -gn` and `sudo -u` on.
    public var stackUser: String {
        guard let data = FileManager.default.contents(atPath: localConf) else { return "stack" }
        var inLocalrc = false
        var user = "stack"
        for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let text = line.trimmingSpaces()
            if text.hasPrefix("[[") {
                inLocalrc = text.hasPrefix("[[local|localrc]]")
                continue
            }
            if inLocalrc, text.hasPrefix("STACK_USER=") {
                let value = text.dropFirst("STACK_USER=".count).trimmingScalars { "\"' ".unicodeScalars.contains($0) }
                if !value.isEmpty && !value.contains("$") { user = value }
            }
        }
        return user
    }

    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }
}

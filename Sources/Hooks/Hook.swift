import FoundationEssentials

/// One unit's worth of shell code in a phase: an extras.d hook `NN-name.sh` (NN in 10–89), a
/// DevStack plugin's devstack/ directory, or one of hvctl's own steps that build DevStack's
/// environment.
public struct Hook: Sendable, Equatable, Codable, Comparable {
    public enum Kind: String, Sendable, Codable {
        /// An extras.d file, sourced with the call's arguments.
        case extras
        /// An `enable_plugin` plugin: `path` is its devstack/ directory; the call picks the
        /// file (settings, override-defaults or plugin.sh), as DevStack's run_phase does.
        case plugin
        /// hvctl's own shell code (`path`), sourced without arguments.
        case step
        /// One verb of a hypervisor script (`path` is hvctl's wrapper that sources the script
        /// and calls the verb's function).
        case verb
    }

    public var kind: Kind = .extras
    /// The file name, e.g. "20-foo.sh", "plugin:container", "devstack:settings"; also the
    /// hook's SyslogIdentifier and HVCTL_HOOK.
    public var file: String
    /// The two-digit order prefix (extras.d hooks only).
    public var order: Int
    /// The part between the prefix and ".sh"; a plugin's or step's name.
    public var name: String
    /// The absolute path of the file (for a plugin, of its devstack/ directory).
    public var path: String

    public init(file: String, order: Int, name: String, path: String) {
        self.file = file
        self.order = order
        self.name = name
        self.path = path
    }

    /// A DevStack plugin, from its checkout's devstack/ directory.
    public static func plugin(_ name: String, devstackDirectory: String) -> Hook {
        var hook = Hook(file: "plugin:\(name)", order: 0, name: name, path: devstackDirectory)
        hook.kind = .plugin
        return hook
    }

    /// One of hvctl's steps, e.g. `devstack:settings`.
    public static func step(_ name: String, script: String) -> Hook {
        var hook = Hook(file: "devstack:\(name)", order: 0, name: name, path: script)
        hook.kind = .step
        return hook
    }

    /// `VERB_nova_hypervisor` of the script driver `driver`: unit
    /// `hvctl-RUN-VERB-hypervisor-DRIVER.service`, logged as `hypervisor-DRIVER`.
    public static func verb(_ verb: String, driver: String, wrapper: String) -> Hook {
        var hook = Hook(file: "hypervisor-\(driver)", order: 0, name: "\(verb)-hypervisor-\(driver)", path: wrapper)
        hook.kind = .verb
        return hook
    }

    /// What the unit sources for `call`, with which arguments; nil when this hook has nothing
    /// to run for it (a plugin without devstack/settings in the source phase).
    public func script(for call: HookCall) -> (path: String, arguments: [String])? {
        switch kind {
        case .extras: return (path, call.arguments)
        case .step, .verb: return (path, [])
        case .plugin:
            let file: String
            let arguments: [String]
            switch call {
            case .source: (file, arguments) = ("settings", [])
            case .overrideDefaults: (file, arguments) = ("override-defaults", [])
            default: (file, arguments) = ("plugin.sh", call.arguments)
            }
            let full = path + "/" + file
            return Self.isFile(full) ? (full, arguments) : nil
        }
    }

    static func isFile(_ path: String) -> Bool {
        var isDirectory = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory
    }

    /// DevStack pinned LC_ALL=C: prefix first, then the name compared byte by byte.
    public static func < (a: Hook, b: Hook) -> Bool {
        if a.order != b.order { return a.order < b.order }
        return Array(a.name.utf8).lexicographicallyPrecedes(Array(b.name.utf8))
    }
}

/// A directory entry that is not a hook and does not stop the run.
public struct IgnoredEntry: Sendable, Equatable, Codable {
    public var file: String
    public var reason: String
}

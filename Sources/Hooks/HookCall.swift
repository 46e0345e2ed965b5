/// One DevStack hook call: `stack <phase>`, `unstack` or `clean`; in DevStack mode also the
/// calls stack.sh makes while it builds its environment, `override_defaults` and `source`.
public enum HookCall: Sendable, Equatable, Hashable, CustomStringConvertible {
    public enum StackPhase: String, Sendable, CaseIterable {
        case preInstall = "pre-install", install, postConfig = "post-config", extra, testConfig = "test-config"
    }

    case stack(StackPhase)
    case unstack
    case clean
    case overrideDefaults
    case source
    /// One of hvctl's steps that build DevStack's environment (they take no arguments).
    case build

    /// "stack pre-install" → `.stack(.preInstall)`; nil phase for unstack and clean.
    public init(mode: String, phase: String?) throws {
        switch (mode, phase) {
        case ("stack", let p?):
            guard let stackPhase = StackPhase(rawValue: p) else { throw HookError.invalidPhase(mode: mode, phase: phase) }
            self = .stack(stackPhase)
        case ("unstack", nil), ("unstack", "unstack"?): self = .unstack
        case ("clean", nil), ("clean", "clean"?): self = .clean
        default: throw HookError.invalidPhase(mode: mode, phase: phase)
        }
    }

    /// HVCTL_MODE
    public var mode: String {
        switch self {
        case .stack: return "stack"
        case .unstack: return "unstack"
        case .clean: return "clean"
        case .overrideDefaults: return "override_defaults"
        case .source: return "source"
        case .build: return "devstack"
        }
    }

    /// HVCTL_PHASE (for unstack and clean, the mode itself).
    public var phase: String {
        switch self {
        case .stack(let p): return p.rawValue
        case .unstack, .clean, .overrideDefaults, .source: return mode
        case .build: return "environment"
        }
    }

    /// The arguments the hook is sourced with, as DevStack passed them.
    public var arguments: [String] {
        switch self {
        case .stack(let p): return ["stack", p.rawValue]
        case .unstack, .clean, .overrideDefaults, .source: return [mode]
        case .build: return []
        }
    }

    /// In stack, the first failure ends the run; unstack and clean never give up early.
    public var stopsAtFirstFailure: Bool {
        if case .stack = self { return true }
        return false
    }

    public var description: String { arguments.joined(separator: " ") }
}

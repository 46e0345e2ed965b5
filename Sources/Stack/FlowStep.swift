import Hooks

/// One step of a flow: DevStack's environment, a phase of hooks, or a driver verb.
public enum FlowStep: Sendable, Equatable, CustomStringConvertible {
    /// DevStack mode: build DevStack's environment for the hooks that follow.
    case environment
    case hooks(HookCall)
    case verb(DriverVerb)

    /// As the plan, the progress lines and the state's run records name it.
    public var description: String {
        switch self {
        case .environment: return "devstack environment"
        case .hooks(let call): return "hooks \(call)"
        case .verb(let verb): return verb.rawValue
        }
    }
}

/// DevStack's five hypervisor-plugin verbs.
public enum DriverVerb: String, Sendable, Codable, CaseIterable {
    case install, configure, start, stop, cleanup
}

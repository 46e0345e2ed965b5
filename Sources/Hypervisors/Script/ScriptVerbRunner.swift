/// Runs one verb of a hypervisor script as a unit, in the environment hooks get: the flow
/// that calls the verb provides it (DevStack's own environment in DevStack mode, hvctl's
/// built-in functions otherwise). Throws, naming the unit and its last lines, when the verb
/// fails.
public protocol ScriptVerbRunner: Sendable {
    func run(_ verb: ScriptVerb, of driver: ScriptDriver) async throws
}

/// DevStack's hypervisor plugin contract: lib/nova calls `VERB_nova_hypervisor`.
public enum ScriptVerb: String, Sendable, CaseIterable, Codable {
    case install, configure, start, stop, cleanup

    public var function: String { rawValue + "_nova_hypervisor" }
}

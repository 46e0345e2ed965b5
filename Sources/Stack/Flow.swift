/// DevStack's three scripts, as hvctl runs them for one driver:
///
///   stack:   hooks stack pre-install → install → hooks stack install → configure →
///            hooks stack post-config → start → hooks stack extra → hooks stack test-config
///   unstack: hooks unstack → stop
///   clean:   unstack → hooks clean → cleanup
///
/// In DevStack mode (TOP_DIR is a DevStack checkout) each starts with DevStack's environment,
/// and clean builds a fresh one after its unstack half, as clean.sh runs unstack.sh as a
/// process of its own.
public enum Flow: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case stack, unstack, clean

    public var description: String { rawValue }

    /// stack.sh stops at the first failure; unstack.sh and clean.sh run every step.
    public var stopsAtFirstFailure: Bool { self == .stack }

    /// Where the driver is once the flow succeeded: stack makes it the active driver, the
    /// others leave none active.
    var leavesDriverActive: Bool { self == .stack }

    public func steps(devstack: Bool = false) -> [FlowStep] {
        switch (self, devstack) {
        case (.stack, false):
            return [
                .hooks(.stack(.preInstall)), .verb(.install), .hooks(.stack(.install)), .verb(.configure),
                .hooks(.stack(.postConfig)), .verb(.start), .hooks(.stack(.extra)), .hooks(.stack(.testConfig)),
            ]
        case (.unstack, false): return [.hooks(.unstack), .verb(.stop)]
        case (.clean, false): return Flow.unstack.steps() + [.hooks(.clean), .verb(.cleanup)]
        case (.clean, true):
            return [.environment] + Flow.unstack.steps() + [.environment, .hooks(.clean), .verb(.cleanup)]
        case (_, true): return [.environment] + steps()
        }
    }
}

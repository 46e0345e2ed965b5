import Hooks
import Hypervisors

/// What one flow did, step by step: `-o json` prints it, and `FlowError` is made from it.
public struct FlowResult: Sendable, Encodable {
    public var flow: Flow
    public var driver: String
    public var run: String
    public var steps: [StepResult] = []

    /// The first failed step (stack stops there; unstack and clean go on).
    public var firstFailure: StepResult? { steps.first { !$0.outcome.succeeded } }
    public var succeeded: Bool { firstFailure == nil }
    /// Anything may have changed on the host: a step that did, or one that cannot tell.
    public var changed: Bool { steps.contains { $0.changed != false } }

    public var error: FlowError? {
        firstFailure.map { .stepFailed(flow: flow.rawValue, driver: driver, step: $0.step.description, detail: $0.outcome.detail ?? "failed") }
    }

    /// `hvctl start` of a driver that is up: its start verb alone, which changed nothing but,
    /// when `madeActive`, which driver is the active one.
    public static func alreadyRunning(_ driver: String, run: String, madeActive: Bool) -> FlowResult {
        FlowResult(flow: .stack, driver: driver, run: run, steps: [StepResult(step: .verb(.start), outcome: .done, seconds: 0, changed: madeActive)])
    }

    enum CodingKeys: String, CodingKey { case flow, driver, run, succeeded, changed, error, steps }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(flow, forKey: .flow)
        try c.encode(driver, forKey: .driver)
        try c.encode(run, forKey: .run)
        try c.encode(succeeded, forKey: .succeeded)
        try c.encode(changed, forKey: .changed)
        try c.encode(error?.description, forKey: .error)
        try c.encode(steps, forKey: .steps)
    }
}

/// One step as it ran.
public struct StepResult: Sendable, Encodable {
    public var step: FlowStep
    public var outcome: StepOutcome
    public var seconds: Double
    /// Whether the step changed the host: false when it found everything as it should be
    /// (a daemon already running, nothing to stop or remove), nil when it cannot tell
    /// (install and configure; a phase of hooks, which may do anything, is a change when one ran).
    public var changed: Bool?
    /// The hooks the step ran (hook phases and DevStack's environment).
    public var hooks: [HookOutcome] = []

    enum CodingKeys: String, CodingKey { case name, outcome, detail, seconds, changed, hooks }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step.description, forKey: .name)
        try c.encode(outcome.name, forKey: .outcome)
        try c.encode(outcome.detail, forKey: .detail)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(changed, forKey: .changed)
        try c.encode(hooks, forKey: .hooks)
    }
}

public enum StepOutcome: Sendable, Equatable {
    case done
    /// `detail`: what failed, in one line (the error, or the hooks that failed).
    case failed(String)
    /// SIGINT/SIGTERM stopped it: the flow ends here, whatever its kind.
    case interrupted
    /// Not tried, and why (DevStack's hooks without DevStack's environment).
    case notRun(String)

    public var succeeded: Bool { self == .done }

    var name: String {
        switch self {
        case .done: return "done"
        case .failed: return "failed"
        case .interrupted: return "interrupted"
        case .notRun: return "not-run"
        }
    }

    public var detail: String? {
        switch self {
        case .done: return nil
        case .failed(let detail): return detail
        case .interrupted: return "interrupted"
        case .notRun(let why): return "not run: \(why)"
        }
    }
}

/// What `hvctl switch` did: the old driver's flow, the new one's stack and, when that failed,
/// the old one's stack again.
public struct SwitchResult: Sendable, Encodable {
    public var from: String?
    public var to: String
    public var flows: [FlowResult] = []
    /// Set when the new driver failed and the old one is running and active again.
    public var rolledBackTo: String?
    public var failure: FlowError?

    public var succeeded: Bool { failure == nil }
    public var changed: Bool { flows.contains(where: \.changed) }

    enum CodingKeys: String, CodingKey { case flow, from, to, succeeded, changed, error, rolledBackTo, flows }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("switch", forKey: .flow)
        try c.encode(from, forKey: .from)
        try c.encode(to, forKey: .to)
        try c.encode(succeeded, forKey: .succeeded)
        try c.encode(changed, forKey: .changed)
        try c.encode(failure?.description, forKey: .error)
        try c.encode(rolledBackTo, forKey: .rolledBackTo)
        try c.encode(flows, forKey: .flows)
    }
}

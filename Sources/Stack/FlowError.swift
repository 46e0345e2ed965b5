/// Why a flow or a switch failed, in one line naming the step.
public enum FlowError: Error, Equatable, Sendable, CustomStringConvertible {
    case stepFailed(flow: String, driver: String, step: String, detail: String)
    case switchFailed(to: String, step: String, detail: String, rolledBackTo: String?, rollbackProblem: String?)

    public var description: String {
        switch self {
        case .stepFailed(let flow, let driver, let step, let detail):
            return "\(flow) of \(driver) failed at '\(step)': \(detail)"
        case .switchFailed(let to, let step, let detail, let back, let problem):
            var s = "switch to \(to) failed at '\(step)': \(detail)"
            if let back { s += "; rolled back: \(back) is running and active again" }
            if let problem { s += "; the rollback failed too: \(problem)" }
            return s
        }
    }
}

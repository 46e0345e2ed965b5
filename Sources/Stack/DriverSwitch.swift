import FoundationEssentials
import Hooks
import Hypervisors

/// `hvctl switch DRIVER`: unstack the active driver (its hooks see the old VIRT_DRIVER), with
/// `clean` also clean it, then stack the new one. If the new driver fails at any step, roll
/// back: stop what was started of it, stack the old driver again with its hooks, and make it
/// active again. The state never names a driver active that is not running.
public struct DriverSwitch: Sendable {
    public var new: StackFlow
    public var clean: Bool

    public init(new: StackFlow, clean: Bool) {
        self.new = new
        self.clean = clean
    }

    /// The flow of the driver being left, sharing the run id and connection.
    func oldFlow(_ name: String) throws -> StackFlow {
        var flow = new
        flow.session = DriverSession(
            driver: try Drivers.named(name), selection: DriverSelection(name: name, source: "the active driver"),
            context: new.session.context)
        flow.recordSuffix = "-\(name)"
        return flow
    }

    public func plan() throws -> [String] {
        let old = try new.session.context.state.load().activeDriver
        guard let old, old != new.session.driver.name else { return try new.plan(.stack) }
        let leaving = try oldFlow(old)
        return try leaving.plan(leavingFlow) + (try new.plan(.stack))
    }

    var leavingFlow: Flow { clean ? .clean : .unstack }

    /// Throws `FlowError.switchFailed` when the new driver failed (saying whether the old one
    /// is back).
    public func run() async throws {
        if let failure = try await perform().failure { throw failure }
    }

    /// Switches and says what each flow did; a failure of the new driver is in the result.
    public func perform() async throws -> SwitchResult {
        let state = new.session.context.state
        let to = new.session.driver.name
        guard let old = try state.load().activeDriver, old != to else {
            let stacked = try await new.perform(.stack)
            return SwitchResult(from: nil, to: to, flows: [stacked], failure: stacked.error)
        }
        var result = SwitchResult(from: old, to: to)
        let leaving = try oldFlow(old)
        new.onEvent(.leaving(old))
        do {
            let left = try await leaving.perform(leavingFlow)
            result.flows.append(left)
            // Cleanup never gives up early; the new driver still comes up.
            if let error = left.error { new.session.context.progress("leaving \(old) was not clean: \(error)") }
        } catch {
            new.session.context.progress("leaving \(old) was not clean: \(error)")
        }
        try state.update { $0.activeDriver = nil }
        // Any error of the new driver rolls back: a failed step, or one that kept the flow
        // from running or being recorded.
        let failedAt: (step: String, detail: String)
        do {
            let stacked = try await new.perform(.stack)
            result.flows.append(stacked)
            guard let failed = stacked.firstFailure else { return result }
            failedAt = (failed.step.description, failed.outcome.detail ?? "failed")
        } catch {
            failedAt = ("stack", "\(error)")
        }
        new.onEvent(.rollingBack(to: old))
        _ = try? await new.session.driver.stop(new.session.context, force: false)
        var back = leaving
        back.recordSuffix = "-rollback"
        var problem: String?
        do {
            let restacked = try await back.perform(.stack)
            result.flows.append(restacked)
            problem = restacked.error?.description
        } catch {
            problem = "\(error)"
        }
        if problem == nil {
            result.rolledBackTo = old
        } else {
            try? state.update { $0.activeDriver = nil }
        }
        result.failure = .switchFailed(to: to, step: failedAt.step, detail: failedAt.detail, rolledBackTo: result.rolledBackTo, rollbackProblem: problem)
        return result
    }
}

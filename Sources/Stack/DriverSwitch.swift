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
        guard let old, old != new.session.driver.name else { return try new.plan("stack") }
        let leaving = try oldFlow(old)
        return try leaving.plan(clean ? "clean" : "unstack") + (try new.plan("stack"))
    }

    public func run() async throws {
        let state = new.session.context.state
        guard let old = try state.load().activeDriver, old != new.session.driver.name else {
            try await new.run("stack")
            return
        }
        let leaving = try oldFlow(old)
        new.onEvent(.step("leave \(old)"))
        do {
            try await leaving.run(clean ? "clean" : "unstack")
        } catch let error as FlowError {
            // Cleanup never gives up early; the new driver still comes up.
            new.session.context.progress("leaving \(old) was not clean: \(error)")
        }
        try state.update { $0.activeDriver = nil }
        do {
            try await new.run("stack")
        } catch let error as FlowError {
            guard case .stepFailed(_, _, let step, let detail) = error else { throw error }
            new.onEvent(.step("roll back to \(old)"))
            _ = try? await new.session.driver.stop(new.session.context, force: false)
            do {
                var back = leaving
                back.recordSuffix = "-rollback"
                try await back.run("stack")
                throw FlowError.switchFailed(to: new.session.driver.name, step: step, detail: detail, rolledBackTo: old, rollbackProblem: nil)
            } catch let rollback as FlowError where !(rollback.isSwitchFailure) {
                try? state.update { $0.activeDriver = nil }
                throw FlowError.switchFailed(
                    to: new.session.driver.name, step: step, detail: detail, rolledBackTo: nil, rollbackProblem: "\(rollback)")
            }
        }
    }
}

extension FlowError {
    var isSwitchFailure: Bool {
        if case .switchFailed = self { return true }
        return false
    }
}

import Foundation
import Hooks
import Hypervisors
import Systemd

/// DevStack's stack.sh / unstack.sh / clean.sh for one driver, as plain steps:
///
///   stack:   hooks stack pre-install → install → hooks stack install → configure →
///            hooks stack post-config → start → hooks stack extra → hooks stack test-config
///   unstack: hooks unstack → stop
///   clean:   unstack → hooks clean → cleanup
///
/// In stack the first failing step ends the flow; unstack and clean run every step and fail
/// afterwards. Every step is recorded in the state's run record.
public struct StackFlow: Sendable {
    public enum Event: Sendable {
        case step(String)
        case stepDone(String, ok: Bool, seconds: Double, detail: String?)
        case hook(HookOutcome)
        case stopped(StopResult)
    }

    public var session: DriverSession
    /// The hook settings; the flow sets the call per phase and the driver.
    public var hooks: HookPhase
    /// Hooks are optional: a missing default extras.d directory means none.
    public var hooksOptional: Bool
    public var onEvent: @Sendable (Event) -> Void
    /// Told apart in the state's run records when one command runs several flows (switch).
    var recordSuffix = ""
    /// `stop` also stops a daemon hvctl did not start (hvctl stop --force).
    public var force = false

    public init(session: DriverSession, hooks: HookPhase, hooksOptional: Bool, onEvent: @escaping @Sendable (Event) -> Void) {
        self.session = session
        self.hooks = hooks
        self.hooksOptional = hooksOptional
        self.onEvent = onEvent
    }

    var driver: any Hypervisor { session.driver }
    var context: DriverContext { session.context }

    /// The steps of a flow, for --dry-run: each step and each hook unit, in order.
    public func plan(_ flow: String) throws -> [String] {
        var lines: [String] = []
        func hookUnits(_ call: HookCall) throws {
            var phase = hooks
            phase.call = call
            phase.driver = DriverSelection(name: driver.name, source: session.selection.source)
            for unit in try hookPlan(phase) { lines.append("  unit \(unit.name)") }
        }
        for step in Self.steps(flow) {
            lines.append("\(step.name)")
            if let call = step.call { try hookUnits(call) }
        }
        return lines
    }

    private func hookPlan(_ phase: HookPhase) throws -> [TransientService] {
        if hooksOptional && !FileManager.default.fileExists(atPath: phase.extras.path) { return [] }
        return try phase.plan(run: context.run)
    }

    struct Step {
        var name: String
        var call: HookCall?
        var verb: String?
    }

    static func steps(_ flow: String) -> [Step] {
        let stack: [Step] = [
            Step(name: "hooks stack pre-install", call: .stack(.preInstall)), Step(name: "install", verb: "install"),
            Step(name: "hooks stack install", call: .stack(.install)), Step(name: "configure", verb: "configure"),
            Step(name: "hooks stack post-config", call: .stack(.postConfig)), Step(name: "start", verb: "start"),
            Step(name: "hooks stack extra", call: .stack(.extra)), Step(name: "hooks stack test-config", call: .stack(.testConfig)),
        ]
        let unstack: [Step] = [Step(name: "hooks unstack", call: .unstack), Step(name: "stop", verb: "stop")]
        switch flow {
        case "stack": return stack
        case "unstack": return unstack
        case "clean": return unstack + [Step(name: "hooks clean", call: .clean), Step(name: "cleanup", verb: "cleanup")]
        default: return []
        }
    }

    /// Runs `flow`; throws `FlowError.stepFailed` naming the step (the first one in stack,
    /// the first of possibly several in unstack and clean).
    public func run(_ flow: String) async throws {
        // A bad extras.d is refused before anything is recorded or done.
        _ = try plan(flow)
        var record = HostState.Run(id: context.run.value + recordSuffix, flow: flow, driver: driver.name, started: Date())
        try context.state.update { $0.record(record) }
        let stopsEarly = flow == "stack"
        var firstFailure: FlowError?
        for step in Self.steps(flow) {
            onEvent(.step(step.name))
            let clock = ContinuousClock()
            let began = clock.now
            var ok = true
            var detail: String?
            do {
                if let call = step.call {
                    let report = try await runHooks(call)
                    ok = report.succeeded
                    if report.unrecorded {
                        context.progress("journald is not running: the hooks' output is not being recorded, and `hvctl logs` cannot show run \(report.run)")
                    }
                    if !ok {
                        detail = report.interrupted ? "interrupted" : "failed: " + report.hooks.filter { !$0.succeeded }.map(\.hook).joined(separator: ", ")
                    }
                } else if let verb = step.verb {
                    try await perform(verb)
                }
            } catch is CancellationError {
                ok = false
                detail = "interrupted"
            } catch {
                ok = false
                detail = "\(error)"
            }
            let seconds = (clock.now - began).inSeconds
            onEvent(.stepDone(step.name, ok: ok, seconds: seconds, detail: detail))
            record.steps.append(.init(name: step.name, ok: ok, seconds: seconds, detail: detail))
            try context.state.update { $0.record(record) }
            if !ok {
                if firstFailure == nil { firstFailure = .stepFailed(flow: flow, driver: driver.name, step: step.name, detail: detail ?? "failed") }
                if stopsEarly || detail == "interrupted" { break }
            }
        }
        record.ended = Date()
        record.succeeded = firstFailure == nil
        let finished = record
        try context.state.update {
            $0.record(finished)
            if flow == "stack" && finished.succeeded == true { $0.activeDriver = driver.name }
            // Unstacked, the driver is no longer up: the state must not name it active.
            if flow != "stack" && $0.activeDriver == driver.name { $0.activeDriver = nil }
        }
        if let firstFailure { throw firstFailure }
    }

    private func runHooks(_ call: HookCall) async throws -> HookRunReport {
        var phase = hooks
        phase.call = call
        phase.driver = DriverSelection(name: driver.name, source: session.selection.source)
        if hooksOptional && !FileManager.default.fileExists(atPath: phase.extras.path) {
            return HookRunReport(run: context.run.value, mode: call.mode, phase: call.phase, driver: driver.name, hooks: [], interrupted: false)
        }
        let onEvent = self.onEvent
        return try await phase.run(run: context.run, manager: context.systemd) { onEvent(.hook($0)) }
    }

    private func perform(_ verb: String) async throws {
        switch verb {
        case "install": try await driver.install(context)
        case "configure": try await driver.configure(context)
        case "start":
            _ = try await driver.start(context)
            // A run that died while this daemon was down kept its lease; now it can be seen to.
            try await RunGuard.reapDead(context, runtimeDirectory: HostCleanup.runtimeDirectory(), note: context.progress)
        case "stop": onEvent(.stopped(try await driver.stop(context, force: force)))
        case "cleanup":
            let scope = RunLease.cleanupScope(context.state, excluding: context.run.value)
            let report = try await driver.cleanup(context, dryRun: false, scope: scope)
            if let unreachable = report.unreachable { context.progress("cleanup skipped: \(unreachable)") }
        default: break
        }
        session.log(verb)
    }
}

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

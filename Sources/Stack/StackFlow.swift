import Core
import DevStack
import FoundationEssentials
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
/// In DevStack mode (TOP_DIR is a DevStack checkout) every flow starts with DevStack's
/// environment (settings, plugins, override_defaults, libraries, source), and clean builds a
/// fresh one after its unstack half, as clean.sh runs unstack.sh as a process of its own.
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
    /// DevStack mode: the settings already read to choose the driver, used by the flow's
    /// first environment when they were read for this driver.
    public var devstackStart: DevStackEnvironment?

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
        for step in Self.steps(flow, devstack: hooks.devstack != nil) {
            lines.append("\(step.name)")
            if let call = step.call { try hookUnits(call) }
            if step.environment {
                for unit in try hooks.environmentPlan(run: context.run, strict: flow == "stack") { lines.append("  unit \(unit.name)") }
            }
        }
        if hooks.devstack != nil {
            lines.append("(and in each phase, after extras.d's, a unit for each plugin local.conf enables: hvctl hooks list shows them)")
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
        /// DevStack mode: build DevStack's environment for the hooks that follow.
        var environment = false
    }

    static func steps(_ flow: String, devstack: Bool = false) -> [Step] {
        guard devstack else { return steps(flow) }
        let environment = Step(name: "devstack environment", environment: true)
        let plain = steps(flow)
        if flow == "clean" {
            // clean.sh runs unstack.sh as its own process, then builds its environment afresh.
            let unstack = steps("unstack")
            return [environment] + unstack + [environment] + plain.dropFirst(unstack.count)
        }
        return plain.isEmpty ? [] : [environment] + plain
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
        var devstack: DevStackEnvironment?
        var start = devstackStart
        var environments = 0
        for step in Self.steps(flow, devstack: hooks.devstack != nil) {
            onEvent(.step(step.name))
            let clock = ContinuousClock()
            let began = clock.now
            var ok = true
            var detail: String?
            do {
                if step.environment {
                    await finish(devstack)
                    devstack = nil
                    let reused = start.flatMap { $0.settings.virtDriver == driver.name ? $0 : nil }
                    if reused == nil { await finish(start) }
                    start = nil
                    environments += 1
                    let report: HookRunReport
                    (devstack, report) = try await buildEnvironment(
                        flow, reusing: reused, name: context.run.value + recordSuffix + (environments > 1 ? "-\(environments)" : ""))
                    ok = report.succeeded
                    if !ok { detail = failureDetail(report) }
                } else if step.call != nil, hooks.devstack != nil, devstack == nil {
                    // Without DevStack's environment its hooks cannot run; say so per step.
                    ok = false
                    detail = "not run: DevStack's environment could not be built"
                } else if let call = step.call {
                    let report = try await runHooks(call, in: devstack)
                    ok = report.succeeded
                    if report.unrecorded {
                        context.progress("journald is not running: the hooks' output is not being recorded, and `hvctl logs` cannot show run \(report.run)")
                    }
                    if !ok { detail = failureDetail(report) }
                } else if let verb = step.verb {
                    try await perform(verb, devstack: devstack)
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
            do {
                try context.state.update { $0.record(record) }
            } catch {
                // Its jobs stopped and its shell state removed before the error goes up.
                await finish(devstack)
                await finish(start)
                throw error
            }
            if !ok {
                if firstFailure == nil { firstFailure = .stepFailed(flow: flow, driver: driver.name, step: step.name, detail: detail ?? "failed") }
                if stopsEarly || detail == "interrupted" { break }
            }
        }
        await finish(devstack)
        await finish(start)
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

    /// Stops the environment's jobs nobody waited for, saying so, and removes its state.
    private func finish(_ environment: DevStackEnvironment?) async {
        guard let environment else { return }
        let unwaited = await environment.finish()
        if !unwaited.isEmpty {
            context.progress("async jobs nobody waited for were stopped: \(unwaited.joined(separator: ", "))")
        }
    }

    private func failureDetail(_ report: HookRunReport) -> String {
        report.interrupted ? "interrupted" : "failed: " + report.hooks.filter { !$0.succeeded }.map(\.hook).joined(separator: ", ")
    }

    /// DevStack's environment for this flow's driver (VIRT_DRIVER forced to it: it was chosen
    /// already, from --driver or from local.conf), plugins fetched, through the source phase.
    private func buildEnvironment(_ flow: String, reusing start: DevStackEnvironment?, name: String) async throws -> (DevStackEnvironment?, HookRunReport) {
        var phase = hooks
        phase.driver = DriverSelection(name: driver.name, source: session.selection.source)
        let onEvent = self.onEvent
        var report = HookRunReport(run: context.run.value, mode: "devstack", phase: "environment", driver: driver.name, hooks: [], interrupted: false)
        var environment: DevStackEnvironment
        if let start {
            environment = start
        } else {
            guard let (built, settings) = try await phase.buildEnvironment(
                run: context.run, manager: context.systemd, forcedDriver: driver.name, name: name, onOutcome: { onEvent(.hook($0)) })
            else { return (nil, report) }
            report.append(settings)
            environment = built
        }
        do {
            let runner = phase.runner(run: context.run, manager: context.systemd)
            report.append(try await environment.prepare(runner: runner, trust: phase.trust, strict: flow == "stack") { onEvent(.hook($0)) })
            // Before pre-install, as stack.sh installs its packages before that phase: what
            // DevStack's own get_plugin_packages lists (the ready step wrote it, for a root
            // run only: a --user run's user wrote everything that step saw).
            let missing = PackageInstaller.missing(phase.user == nil ? environment.pluginPackages : [])
            if !missing.isEmpty && report.succeeded {
                if context.settings.installPackages && flow == "stack" {
                    context.progress("installing the plugins' packages (devstack/files/debs): \(missing.joined(separator: " "))")
                    try await PackageInstaller.install(missing, context)
                } else if flow == "stack" {
                    context.progress("the plugins need packages that are not installed: \(missing.joined(separator: " ")) (--install-packages installs them)")
                }
            }
        } catch {
            await environment.finish()
            throw error
        }
        return (environment, report)
    }

    private func runHooks(_ call: HookCall, in devstack: DevStackEnvironment?) async throws -> HookRunReport {
        var phase = hooks
        phase.call = call
        phase.driver = DriverSelection(name: driver.name, source: session.selection.source)
        if let devstack {
            let onEvent = self.onEvent
            return try await devstack.run(call, runner: phase.runner(run: context.run, manager: context.systemd)) { onEvent(.hook($0)) }
        }
        if hooksOptional && !FileManager.default.fileExists(atPath: phase.extras.path) {
            return HookRunReport(run: context.run.value, mode: call.mode, phase: call.phase, driver: driver.name, hooks: [], interrupted: false)
        }
        let onEvent = self.onEvent
        return try await phase.run(run: context.run, manager: context.systemd) { onEvent(.hook($0)) }
    }

    /// `hvctl start` of a driver that is up: its start verb (a quick no-op) and it becomes the
    /// active driver, with no hooks. False when it is not up: then the stack flow is the start.
    public func activateIfRunning() async throws -> Bool {
        guard try await driver.status(context).running, case .alreadyRunning = try await driver.start(context) else { return false }
        try context.state.update { $0.activeDriver = driver.name }
        session.log("already running; active driver")
        return true
    }

    private func perform(_ verb: String, devstack: DevStackEnvironment?) async throws {
        var context = self.context
        var phase = hooks
        phase.driver = DriverSelection(name: driver.name, source: session.selection.source)
        let onEvent = self.onEvent
        context.scripts = ScriptVerbUnits(
            runner: phase.runner(run: context.run, manager: context.systemd), devstack: devstack,
            computeConfig: context.settings.computeConfig, trust: phase.trust, onOutcome: { onEvent(.hook($0)) })
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

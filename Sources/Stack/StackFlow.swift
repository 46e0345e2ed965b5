import Core
import DevStack
import FoundationEssentials
import Hooks
import Hypervisors
import Systemd

/// DevStack's stack.sh / unstack.sh / clean.sh for one driver (the steps are `Flow`'s).
///
/// In stack the first failing step ends the flow; unstack and clean run every step and fail
/// afterwards. Every step is recorded in the state's run record.
public struct StackFlow: Sendable {
    public enum Event: Sendable {
        case step(FlowStep)
        case stepDone(StepResult)
        case hook(HookOutcome)
        case stopped(StopResult)
        /// `hvctl switch`: the old driver's flow begins.
        case leaving(String)
        /// `hvctl switch`: the new driver failed; the old one is stacked again.
        case rollingBack(to: String)
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
    public func plan(_ flow: Flow) throws -> [String] {
        var lines: [String] = []
        func hookUnits(_ call: HookCall) throws {
            var phase = hooks
            phase.call = call
            phase.driver = DriverSelection(name: driver.name, source: session.selection.source)
            for unit in try hookPlan(phase) { lines.append("  unit \(unit.name)") }
        }
        for step in flow.steps(devstack: hooks.devstack != nil) {
            lines.append(step.description)
            switch step {
            case .hooks(let call): try hookUnits(call)
            case .environment:
                for unit in try hooks.environmentPlan(run: context.run, strict: flow == .stack) { lines.append("  unit \(unit.name)") }
            case .verb: break
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

    /// Runs `flow`; throws `FlowError.stepFailed` naming the step (the first one in stack,
    /// the first of possibly several in unstack and clean).
    public func run(_ flow: Flow) async throws {
        if let error = try await perform(flow).error { throw error }
    }

    /// Runs `flow` and says what each step did; a failed step is in the result, not thrown.
    /// Throws only when the flow could not run or be recorded (a bad extras.d, the state).
    public func perform(_ flow: Flow) async throws -> FlowResult {
        // A bad extras.d is refused before anything is recorded or done.
        _ = try plan(flow)
        var result = FlowResult(flow: flow, driver: driver.name, run: context.run.value)
        var record = HostState.Run(id: context.run.value + recordSuffix, flow: flow.rawValue, driver: driver.name, started: Date())
        try context.state.update {
            $0.record(record)
            // Every flow begins by leaving the driver not stacked: only a stack that ends well
            // makes it so again.
            $0[driver: driver.name].stacked = false
        }
        var devstack: DevStackEnvironment?
        var start = devstackStart
        var environments = 0
        for step in flow.steps(devstack: hooks.devstack != nil) {
            onEvent(.step(step))
            let clock = ContinuousClock()
            let began = clock.now
            var done = StepResult(step: step, outcome: .done, seconds: 0)
            do {
                switch step {
                case .environment:
                    await finish(devstack)
                    devstack = nil
                    let reused = start.flatMap { $0.settings.virtDriver == driver.name ? $0 : nil }
                    if reused == nil { await finish(start) }
                    start = nil
                    environments += 1
                    let report: HookRunReport
                    (devstack, report) = try await buildEnvironment(
                        flow, reusing: reused, name: context.run.value + recordSuffix + (environments > 1 ? "-\(environments)" : ""))
                    done.take(report)
                case .hooks where hooks.devstack != nil && devstack == nil:
                    // Without DevStack's environment its hooks cannot run; say so per step.
                    done.outcome = .notRun("DevStack's environment could not be built")
                    done.changed = false
                case .hooks(let call):
                    let report = try await runHooks(call, in: devstack)
                    if report.unrecorded {
                        context.progress("journald is not running: the hooks' output is not being recorded, and `hvctl logs` cannot show run \(report.run)")
                    }
                    done.take(report)
                case .verb(let verb):
                    done.changed = try await perform(verb, devstack: devstack)
                }
            } catch is CancellationError {
                done.outcome = .interrupted
            } catch {
                done.outcome = .failed("\(error)")
            }
            done.seconds = (clock.now - began).inSeconds
            onEvent(.stepDone(done))
            result.steps.append(done)
            record.steps.append(.init(name: step.description, ok: done.outcome.succeeded, seconds: done.seconds, detail: done.outcome.detail))
            do {
                try context.state.update { $0.record(record) }
            } catch {
                // Its jobs stopped and its shell state removed before the error goes up.
                await finish(devstack)
                await finish(start)
                throw error
            }
            if !done.outcome.succeeded && (flow.stopsAtFirstFailure || done.outcome == .interrupted) { break }
        }
        await finish(devstack)
        await finish(start)
        record.ended = Date()
        record.succeeded = result.succeeded
        let finished = record
        try context.state.update {
            $0.record(finished)
            if flow.leavesDriverActive && finished.succeeded == true {
                $0.activeDriver = driver.name
                $0[driver: driver.name].stacked = true
            }
            // Unstacked, the driver is no longer up: the state must not name it active.
            if !flow.leavesDriverActive && $0.activeDriver == driver.name { $0.activeDriver = nil }
        }
        return result
    }

    /// Stops the environment's jobs nobody waited for, saying so, and removes its state.
    private func finish(_ environment: DevStackEnvironment?) async {
        guard let environment else { return }
        let unwaited = await environment.finish()
        if !unwaited.isEmpty {
            context.progress("async jobs nobody waited for were stopped: \(unwaited.joined(separator: ", "))")
        }
    }

    /// DevStack's environment for this flow's driver (VIRT_DRIVER forced to it: it was chosen
    /// already, from --driver or from local.conf), plugins fetched, through the source phase.
    private func buildEnvironment(_ flow: Flow, reusing start: DevStackEnvironment?, name: String) async throws -> (DevStackEnvironment?, HookRunReport) {
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
            report.append(try await environment.prepare(runner: runner, trust: phase.trust, strict: flow == .stack) { onEvent(.hook($0)) })
            // Before pre-install, as stack.sh installs its packages before that phase: what
            // DevStack's own get_plugin_packages lists (the ready step wrote it, for a root
            // run only: a --user run's user wrote everything that step saw).
            let missing = PackageInstaller.missing(phase.user == nil ? environment.pluginPackages : [])
            if !missing.isEmpty && report.succeeded {
                if context.settings.installPackages && flow == .stack {
                    context.progress("installing the plugins' packages (devstack/files/debs): \(missing.joined(separator: " "))")
                    try await PackageInstaller.install(missing, context)
                } else if flow == .stack {
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

    /// Up: hvctl stacked the driver (and has not unstacked it since) and its daemon runs.
    /// A daemon running on a host where hvctl never stacked it is not up: the hooks and
    /// configure (the compute config, the base image) have not run there.
    public func isUp() async throws -> Bool {
        guard try context.state.load()[driver: driver.name].stacked == true else { return false }
        return try await driver.status(context).running
    }

    /// What `hvctl start` found: a driver not up (the stack flow is then the start), or an up
    /// one that was already the active driver or has just become it (a change to the host).
    public enum Activation: Sendable, Equatable { case notUp, alreadyActive, madeActive }

    /// `hvctl start` of a driver that is up: its start verb (a quick no-op) and it becomes the
    /// active driver, with no hooks.
    public func activateIfRunning() async throws -> Activation {
        guard try await isUp(), case .alreadyRunning = try await driver.start(context) else { return .notUp }
        var was: String?
        try context.state.update {
            was = $0.activeDriver
            $0.activeDriver = driver.name
        }
        session.log("already running; active driver")
        return was == driver.name ? .alreadyActive : .madeActive
    }

    /// Runs one driver verb; whether it changed the host (nil: it cannot tell).
    private func perform(_ verb: DriverVerb, devstack: DevStackEnvironment?) async throws -> Bool? {
        var context = self.context
        var phase = hooks
        phase.driver = DriverSelection(name: driver.name, source: session.selection.source)
        let onEvent = self.onEvent
        context.scripts = ScriptVerbUnits(
            runner: phase.runner(run: context.run, manager: context.systemd), devstack: devstack,
            computeConfig: context.settings.computeConfig, trust: phase.trust, onOutcome: { onEvent(.hook($0)) })
        let changed: Bool?
        switch verb {
        case .install:
            try await driver.install(context)
            changed = nil
        case .configure:
            try await driver.configure(context)
            changed = nil
        case .start:
            let started = try await driver.start(context)
            // A run that died while this daemon was down kept its lease; now it can be seen to.
            try await RunGuard.reapDead(context, runtimeDirectory: HostCleanup.runtimeDirectory(), note: context.progress)
            changed = started != .alreadyRunning
        case .stop:
            let stopped = try await driver.stop(context, force: force)
            onEvent(.stopped(stopped))
            changed = stopped.stoppedInstances > 0 || stopped.stoppedDaemon
        case .cleanup:
            let scope = RunLease.cleanupScope(context.state, excluding: context.run.value)
            let report = try await driver.cleanup(context, dryRun: false, scope: scope)
            if let unreachable = report.unreachable { context.progress("cleanup skipped: \(unreachable)") }
            changed = report.removed.values.contains { !$0.isEmpty }
        }
        session.log(verb.rawValue)
        return changed
    }
}

extension StepResult {
    /// A phase of hooks (or DevStack's environment) as its report says it went.
    mutating func take(_ report: HookRunReport) {
        hooks = report.hooks
        changed = !report.hooks.isEmpty
        if report.interrupted {
            outcome = .interrupted
        } else if !report.succeeded {
            outcome = .failed("failed: " + report.hooks.filter { !$0.succeeded }.map(\.hook).joined(separator: ", "))
        }
    }
}

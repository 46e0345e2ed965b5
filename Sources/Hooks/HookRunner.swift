import Core
import FoundationEssentials
import Systemd

/// Runs one phase of hooks, each call as its own transient unit, one after another.
public struct HookRunner: Sendable {
    public struct Options: Sendable {
        public var run: RunID
        public var driver: String
        /// DevStack's TOP_DIR, the hooks' working directory.
        public var topDir: String
        /// Extra variables for every hook (`--env`, ENABLED_SERVICES, …).
        public var environment: [String: String] = [:]
        /// Per call; systemd kills the hook's whole cgroup when it passes.
        public var timeout: Duration = .seconds(1800)
        /// Per hook file, overriding `timeout`.
        public var hookTimeouts: [String: Duration] = [:]
        public var user: String?
        public var functionsPath: String = RuntimePaths.functionsFile()
        public var slice = "hvctl.slice"
        /// DevStack mode: every call starts from the state the call before it left, and
        /// sources DevStack's own code, not hvctl's functions.
        public var shellState: ShellState?
        public var preludePath: String = ShellState.prelude().path
        /// errexit and "stop at the first failure" for every call, whatever the call: stack.sh
        /// runs its environment's calls with errexit, unstack.sh and clean.sh without.
        public var strict: Bool?

        public init(run: RunID, driver: String, topDir: String) {
            self.run = run
            self.driver = driver
            self.topDir = topDir
        }
    }

    public let manager: SystemdManager
    public var options: Options

    public init(manager: SystemdManager, options: Options) {
        self.manager = manager
        self.options = options
    }

    public static let stopGrace: Duration = .seconds(5)

    /// The unit each hook call would run as, in order; refuses names systemd cannot take.
    public static func plan(_ hooks: [Hook], _ call: HookCall, _ options: Options) throws -> [TransientService] {
        try plan(hooks, call, options).map(\.1)
    }

    /// The hooks that have something to run for `call` (a plugin without devstack/settings
    /// has nothing in the source phase), each with the unit it runs as.
    static func plan(_ hooks: [Hook], _ call: HookCall, _ options: Options) throws -> [(Hook, TransientService)] {
        try hooks.compactMap { hook in try service(for: hook, call, options).map { (hook, $0) } }
    }

    static func unitName(for hook: Hook, _ call: HookCall, _ o: Options) -> String {
        switch hook.kind {
        case .extras:
            let order = hook.order < 10 ? "0\(hook.order)" : "\(hook.order)"
            // Hook names hold only [A-Za-z0-9._-], all valid in unit names as they are.
            return "hvctl-\(o.run)-\(call.phase)-\(order)-\(hook.name).service"
        case .plugin: return "hvctl-\(o.run)-\(call.phase)-plugin-\(hook.name).service"
        case .step: return "hvctl-\(o.run)-devstack-\(hook.name).service"
        case .verb: return "hvctl-\(o.run)-\(hook.name).service"
        }
    }

    static func service(for hook: Hook, _ call: HookCall, _ o: Options) throws -> TransientService? {
        guard let (path, arguments) = hook.script(for: call) else { return nil }
        let name = unitName(for: hook, call, o)
        guard UnitName.isValid(name) else { throw HookError.unitNameTooLong(hook: hook.file, unit: name) }

        let strict = o.strict ?? call.stopsAtFirstFailure
        let errexit = strict ? "set -o errexit; " : ""
        // $0 is the sourced file's path, so bash's own messages name it.
        let script: String
        if o.shellState != nil {
            // DevStack mode: the shell stack.sh would have, then the call, as run_phase makes it.
            script = #"source "$HVCTL_PRELUDE"; "# + errexit + #"source "$0" "$@""#
        } else if hook.kind == .extras {
            // `. hook source; . hook <mode> [<phase>]` in one bash, as DevStack's stack.sh did.
            script = errexit + #"source "$HVCTL_FUNCTIONS"; source "$0" source; source "$0" "$@""#
        } else {
            // hvctl's own code (a hypervisor script's verb): once, with hvctl's functions.
            script = errexit + #"source "$HVCTL_FUNCTIONS"; source "$0" "$@""#
        }
        var s = TransientService(name: name, command: ["/bin/bash", "-c", script, path] + arguments)
        s.description = "hvctl hook \(hook.file) \(call) (run \(o.run))"
        var env = o.environment
        env["VIRT_DRIVER"] = o.driver
        env["TOP_DIR"] = o.topDir
        env["HVCTL_RUN"] = o.run.value
        env["HVCTL_MODE"] = call.mode
        env["HVCTL_PHASE"] = call.phase
        env["HVCTL_HOOK"] = hook.file
        if o.shellState != nil {
            env["HVCTL_PRELUDE"] = o.preludePath
        } else {
            env["HVCTL_FUNCTIONS"] = o.functionsPath
        }
        s.environment = env
        // TOP_DIR, as DevStack runs in it; a hypervisor script outside any tree may have none.
        s.workingDirectory = FileManager.default.fileExists(atPath: o.topDir) ? o.topDir : "/"
        s.slice = o.slice
        s.runtimeMax = o.hookTimeouts[hook.file] ?? o.timeout
        s.syslogIdentifier = hook.file
        s.logExtraFields = [
            "HVCTL_RUN": o.run.value, "HVCTL_MODE": call.mode, "HVCTL_PHASE": call.phase, "HVCTL_HOOK": hook.file,
        ]
        // A hypervisor script's verb is the driver's own output: `hvctl logs DRIVER` shows it.
        if hook.kind == .verb { s.logExtraFields[RunMarker.driverField] = o.driver }
        s.unlimitedLogRate = true
        s.user = o.user
        // How long a hook's processes get between SIGTERM and SIGKILL: on Ctrl-C, at its
        // timeout, and for children it leaves behind when it exits. systemd's default (90 s)
        // would hold an interrupted hvctl for a minute and a half.
        s.extraProperties.append(("TimeoutStopUSec", .uint64(UInt64(Self.stopGrace.components.seconds) * 1_000_000)))
        return s
    }

    /// One async job (`async_runfunc NAME FUNC ARGS`): `command` in the shell state its caller
    /// had at the moment of the call (`state`), as the unit `hvctl-RUN-job-NAME.service`, as
    /// the hooks' user, its output in the journal with the run's fields and HVCTL_JOB.
    public static func jobService(name: String, command: [String], state: String, _ o: Options) throws -> TransientService {
        let unit = "hvctl-\(o.run)-job-\(name).service"
        guard UnitName.isValid(unit) else { throw HookError.unitNameTooLong(hook: "job \(name)", unit: unit) }
        var s = TransientService(name: unit, command: ["/bin/bash", "-c", #"source "$HVCTL_PRELUDE"; "$@""#, name] + command)
        s.description = "hvctl async job \(name) (run \(o.run))"
        var env = o.environment
        env["VIRT_DRIVER"] = o.driver
        env["TOP_DIR"] = o.topDir
        env["HVCTL_RUN"] = o.run.value
        env["HVCTL_JOB"] = name
        env["HVCTL_PRELUDE"] = o.preludePath
        env["HVCTL_STATE_IN"] = state
        s.environment = env
        s.workingDirectory = o.topDir
        s.slice = o.slice
        s.runtimeMax = o.timeout
        s.syslogIdentifier = "job:\(name)"
        s.logExtraFields = ["HVCTL_RUN": o.run.value, "HVCTL_JOB": name]
        s.unlimitedLogRate = true
        s.user = o.user
        s.extraProperties.append(("TimeoutStopUSec", .uint64(UInt64(Self.stopGrace.components.seconds) * 1_000_000)))
        return s
    }

    /// Runs `hooks` for `call`. In `stack` the first failure ends the phase; in `unstack` and
    /// `clean` every hook runs. `onOutcome` sees each result as it happens. Cancelling the
    /// task (SIGINT/SIGTERM) stops the running unit, then returns with `interrupted` set.
    public func run(
        _ hooks: [Hook], _ call: HookCall, onOutcome: @Sendable (HookOutcome) -> Void = { _ in }
    ) async throws -> HookRunReport {
        let planned: [(Hook, TransientService)] = try Self.plan(hooks, call, options)
        if options.shellState != nil {
            try ShellState.prelude().install()
        } else {
            try DevStackFunctions.install(at: options.functionsPath)
        }
        var report = HookRunReport(
            run: options.run.value, mode: call.mode, phase: call.phase, driver: options.driver, hooks: [], interrupted: false)
        // Markers in the journal: `hvctl logs` finds the latest run by its start, and a
        // follower knows the run is over at its end.
        let marker = [
            RunMarker.runField: options.run.value, RunMarker.modeField: call.mode, RunMarker.phaseField: call.phase,
            RunMarker.driverField: options.driver,
        ]
        if !JournalWriter.send("hvctl run \(options.run) started: \(call) (\(planned.count) hooks)", fields: marker.merging([RunMarker.eventField: RunMarker.start]) { $1 }) {
            // The hooks still run; their output goes nowhere, and `hvctl logs` must know.
            report.unrecorded = true
            UnjournaledRuns.record(options.run.value)
        }
        defer {
            // The hooks' last lines first, then the marker that says the run is over.
            if !planned.isEmpty { JournalSync.synchronize() }
            JournalWriter.send(
                "hvctl run \(options.run) ended: \(call), \(report.hooks.filter(\.succeeded).count) of \(planned.count) hooks ok\(report.interrupted ? ", interrupted" : "")",
                fields: marker.merging([RunMarker.eventField: RunMarker.end]) { $1 })
        }
        let strict = options.strict ?? call.stopsAtFirstFailure
        for (hook, planned) in planned {
            var service = planned
            var stateOutput: String?
            if let state = options.shellState {
                let output = await state.nextOutput()
                stateOutput = output
                service.environment["HVCTL_STATE_OUT"] = output
                if let input = await state.current { service.environment["HVCTL_STATE_IN"] = input }
            }
            let clock = ContinuousClock()
            let start = clock.now
            let result: TransientResult
            do {
                // Our own wait outlasts systemd's limit, so systemd's "timeout" is what we see.
                result = try await manager.run(service, waitLimit: (service.runtimeMax ?? options.timeout) + .seconds(60))
            } catch is CancellationError {
                report.interrupted = true
                report.stoppedHook = hook.file
                return report
            }
            let took = clock.now - start
            var outcome = HookOutcome(
                hook: hook.file, mode: call.mode, phase: call.phase, unit: service.name, result: result.result,
                exitStatus: result.exitStatus, seconds: took.inSeconds, invocationID: result.invocationID)
            // systemd says "timeout" also when the hook itself exited well within its limit
            // but left children that ignored SIGTERM: then the hook's own exit is its result.
            if result.result == "timeout", case .exited(let code) = result.exit, took < (service.runtimeMax ?? options.timeout) {
                outcome.result = code == 0 ? "success" : "exit-code"
                outcome.note = "it left processes that ignored SIGTERM; they were killed \(Self.stopGrace.formattedSeconds) after it exited"
            }
            if let state = options.shellState, let stateOutput, !(await state.adopt(stateOutput)), outcome.succeeded {
                outcome.note = "it left no shell state (it replaced hvctl's EXIT trap or exec'd): the next call starts from the state before it"
            }
            if !outcome.succeeded {
                outcome.lastLines = try? await HookLog.lastLines(of: service.name, invocation: result.invocationID, count: 20)
            }
            report.hooks.append(outcome)
            onOutcome(outcome)
            if !outcome.succeeded && strict { break }
        }
        return report
    }

}

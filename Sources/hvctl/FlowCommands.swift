import Core
import ArgumentParser
import DevStack
import FoundationEssentials
import Hooks
import Hypervisors
import Stack

/// What every flow command (stack, unstack, clean, switch) takes.
struct FlowOptions: ParsableArguments {
    @OptionGroup var hookOptions: HookOptions
    @OptionGroup var driverOptions: DriverOptions

    @Flag(help: "Print the plan (each step and each hook unit, in order) and change nothing.")
    var dryRun = false

    @Flag(help: "Fail at once if another hvctl command is changing this host, instead of waiting.")
    var noWait = false

    @Option(
        name: .shortAndLong,
        help: "text, or json: one object at the end on stdout (each step with its outcome, whether it changed the host, its hooks), the progress lines on stderr.")
    var output: OutputFormat = .text

    /// Where the progress lines go: stdout, or stderr when stdout carries the JSON.
    var show: @Sendable (String) -> Void {
        if output == .json { return { line in StandardStream.error.write(line + "\n") } }
        return { say($0) }
    }

    /// --dry-run's plan: the lines, or with -o json one object listing them.
    func printPlan(_ flow: String, driver: String, _ lines: [String]) {
        guard output == .json else { return lines.forEach(say) }
        printJSON(PlannedFlow(flow: flow, driver: driver, plan: lines))
    }

    /// The session for `driver` and the hooks, with hook lines and steps printed as they go.
    func flow(driver: String?, settings: DriverSettings? = nil) async throws -> StackFlow {
        let config = try Invocation.config()
        let environment = Invocation.environment(config)
        let preferred = DriverSelection.preferred(
            flag: driver, flagSource: "the DRIVER argument", environment: environment, state: try StateStore.fromEnvironment(environment).load(), configured: config.virtDriver)
        var hooks = try hookOptions.phase(.unstack, driver: preferred, config: config, environment: environment)
        let (session, start) = try await FlowSetup.open(
            driver: driver, preferred: preferred, hooks: hooks, settings: settings ?? driverOptions.settings, dryRun: dryRun,
            onHook: { [show] in show("   " + HookLines.render($0).replacingEvery("\n", with: "\n   ")) }, progress: note)
        hooks.driver = session.selection
        let explicit = hookOptions.extras.extrasDir != nil || !(environment["HVCTL_EXTRAS_DIR"] ?? "").isEmpty
        let show = self.show
        var flow = StackFlow(session: session, hooks: hooks, hooksOptional: !explicit) { event in
            switch event {
            case .step(let step): show("-> \(step)")
            case .stepDone(let done):
                if !done.outcome.succeeded { show("FAIL  \(done.step)  \(done.seconds.fixed(2)) s: \(done.outcome.detail ?? "")") }
            case .hook(let outcome): show("   " + HookLines.render(outcome).replacingEvery("\n", with: "\n   "))
            case .stopped(let result):
                var line = "\(session.driver.name): stopped \(result.stoppedInstances) instance\(result.stoppedInstances == 1 ? "" : "s")"
                line += result.stoppedDaemon ? " and the daemon" : ""
                show(line)
                if let n = result.note { note(n) }
            case .leaving(let old): show("-> leave \(old)")
            case .rollingBack(let old): show("-> roll back to \(old)")
            }
        }
        flow.devstackStart = start
        return flow
    }

    /// Runs `body` holding the host lock and the run's lease (RunGuard: if hvctl dies in the
    /// middle, what the run made is reaped), stopping cleanly on SIGINT/SIGTERM.
    /// `held`: the host lock, when the caller took it already.
    func locked(
        _ flow: StackFlow, _ command: String, drivers: [String] = [], held: HostLock? = nil,
        _ body: @escaping @Sendable () async throws -> Void
    ) async throws {
        // A bad extras.d is refused before the run takes its lease and reaper.
        _ = try flow.plan(.stack)
        let lock: HostLock
        if let held { lock = held } else { lock = try await hostLock() }
        defer { lock.release() }
        let name = flow.session.driver.name
        try await RunGuard.guarding(flow.session.context, command: "hvctl \(command) \(name)", drivers: [name] + drivers, note: note) {
            try await cancellingOnInterrupt(body)
        }
    }
}

extension FlowOptions {
    /// The host lock, waited for (saying so) unless --no-wait.
    func hostLock() async throws -> HostLock {
        let lock = HostLock()
        try await lock.acquire(wait: !noWait) { note($0) }
        return lock
    }
}

struct StackCommand: FlowCommand {
    static let configuration = CommandConfiguration(
        commandName: "stack",
        abstract: "Bring the driver up with its hooks: DevStack's stack.sh.",
        discussion: """
            hooks stack pre-install -> install -> hooks stack install -> configure -> hooks stack \
            post-config -> start -> hooks stack extra -> hooks stack test-config. The first \
            failure stops the run. On success the driver is the active one.

            In DevStack mode (--top-dir names a DevStack checkout) it starts by building \
            DevStack's environment, merges local.conf's [[post-config|FILE]] and \
            [[test-config|FILE]] sections after those phases, and without a driver named takes \
            VIRT_DRIVER from local.conf.

            Examples:
              hvctl stack docker --extras-dir ./extras.d
              hvctl stack --top-dir /opt/stack/devstack --dry-run
            """)
    static let flow = Flow.stack
    @Argument(help: "The driver (default: $VIRT_DRIVER, else the active driver, else libvirt).") var driver: String?
    @OptionGroup var options: FlowOptions
}

struct UnstackCommand: FlowCommand {
    static let configuration = CommandConfiguration(
        commandName: "unstack", abstract: "Hooks unstack, then stop the driver: DevStack's unstack.sh. Every step runs.")
    static let flow = Flow.unstack
    @Argument(help: "The driver (default: the active driver).") var driver: String?
    @OptionGroup var options: FlowOptions
}

struct CleanCommand: FlowCommand {
    static let configuration = CommandConfiguration(
        commandName: "clean", abstract: "Unstack, hooks clean, then the driver's cleanup: DevStack's clean.sh. Every step runs.")
    static let flow = Flow.clean
    @Argument(help: "The driver (default: the active driver).") var driver: String?
    @OptionGroup var options: FlowOptions
}

struct SwitchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch",
        abstract: "Switch VIRT_DRIVER on a live host, rolling back if the new driver fails.",
        discussion: """
            Unstacks the active driver (its hooks see the old VIRT_DRIVER; with --clean it is \
            cleaned too), then stacks DRIVER (hooks see the new one), which becomes active. If \
            any step of DRIVER fails, what was started of it is stopped, the old driver is \
            stacked again with its hooks and is active again, and hvctl exits non-zero naming \
            the step that failed.
            """)
    @Argument(help: "The driver to switch to.") var driver: String
    @Flag(help: "Also clean the old driver (its cleanup verb and clean hooks).") var clean = false
    @OptionGroup var options: FlowOptions

    func run() async throws {
        let flow = try await options.flow(driver: driver)
        let change = DriverSwitch(new: flow, clean: clean)
        if options.dryRun {
            options.printPlan("switch", driver: driver, try change.plan())
            return
        }
        let old = try flow.session.context.state.load().activeDriver
        let output = options.output
        try await options.locked(flow, "switch", drivers: old.map { [$0] } ?? []) {
            let result = try await change.perform()
            if output == .json { printJSON(result) }
            if let failure = result.failure { throw failure }
        }
        if output == .text { say("switched to \(flow.session.driver.name); it is the active driver") }
    }
}

/// stack, unstack and clean: one flow each, run the same way.
protocol FlowCommand: AsyncParsableCommand {
    static var flow: Flow { get }
    var driver: String? { get }
    var options: FlowOptions { get }
}

extension FlowCommand {
    func run() async throws { try await FlowRunner.run(Self.flow, driver: driver, options: options) }
}

enum FlowRunner {
    static func run(
        _ name: Flow, driver: String?, options: FlowOptions, settings: DriverSettings? = nil, command: String? = nil,
        _ prepare: (inout StackFlow) -> Void = { _ in }
    ) async throws {
        var flow = try await options.flow(driver: driver, settings: settings)
        prepare(&flow)
        if options.dryRun {
            options.printPlan(name.rawValue, driver: flow.session.driver.name, try flow.plan(name))
            return
        }
        let output = options.output
        let ready = flow
        try await options.locked(flow, command ?? name.rawValue) {
            let result = try await ready.perform(name)
            if output == .json { printJSON(result) }
            if let error = result.error { throw error }
        }
        if output == .text { say("\(name) of \(flow.session.driver.name) done (run \(flow.session.context.run))") }
    }
}

/// `--dry-run -o json`.
struct PlannedFlow: Encodable {
    var flow: String
    var driver: String
    var dryRun = true
    var plan: [String]
}

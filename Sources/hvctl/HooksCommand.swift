import Core
import ArgumentParser
import FoundationEssentials
import Hooks
import Hypervisors
import Stack
import Systemd

struct HooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hooks",
        abstract: "List and run DevStack-style extras.d hooks.",
        discussion: """
            Hooks are files NN-name.sh (NN 10-89) in the extras.d directory, run in order of \
            NN, then name. Each call runs as its own systemd transient unit in hvctl.slice, as \
            `. hook source; . hook <mode> [<phase>]` in /bin/bash, with its output in the \
            journal (SyslogIdentifier = the file name; fields HVCTL_RUN, HVCTL_MODE, \
            HVCTL_PHASE, HVCTL_HOOK).

            DevStack mode: when TOP_DIR (--top-dir, or top_dir in hvctl.conf) is a DevStack \
            checkout (stack.sh, functions, stackrc), hooks run in DevStack's own environment \
            built from it (its functions, stackrc, local.conf, lib/*), carried from call to \
            call as in one shell; extras.d is TOP_DIR/extras.d, and local.conf's enable_plugin \
            plugins run after it. See the README's "DevStack mode".
            """,
        subcommands: [HooksListCommand.self, HooksRunCommand.self]
    )
}

/// How hooks run: where they are, what they get, how long they may take, as whom.
struct HookOptions: ParsableArguments {
    @OptionGroup var extras: ExtrasOptions

    @Option(name: .customLong("env"), help: ArgumentHelp("Give hooks NAME=VALUE (repeatable).", valueName: "NAME=VALUE"))
    var env: [String] = []

    // Unconditional, so `--hook-timeout -1` is refused as a bad number of seconds rather than
    // mistaken for an option.
    @Option(parsing: .unconditional, help: ArgumentHelp("Kill a hook (and its children) after this many seconds (default: $HVCTL_HOOK_TIMEOUT, else 1800).", valueName: "seconds"))
    var hookTimeout: Int?

    @Option(help: "Run hooks as this user instead of root.")
    var user: String?

    func phase(_ call: HookCall, driver: DriverSelection, config: HostConfig, environment: [String: String]) throws -> HookPhase {
        try HookPhase(
            extrasDir: extras.extrasDir, topDir: extras.topDir, call: call, driver: driver, env: env,
            timeout: try HookPhase.timeout(flag: hookTimeout, environment: environment), user: user,
            processEnvironment: environment, config: config)
    }
}

/// Where the hooks are; accepted by every command that runs hooks.
struct ExtrasOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The extras.d directory (default: $HVCTL_EXTRAS_DIR, else \(ExtrasDirectory.defaultPath)).",
        valueName: "dir"))
    var extrasDir: String?

    @Option(help: ArgumentHelp(
        "TOP_DIR for the hooks (default: top_dir in hvctl.conf, else the extras.d directory's parent). A DevStack checkout turns on DevStack mode.",
        valueName: "dir"))
    var topDir: String?
}

struct HooksListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show the hooks in run order, and the files that are ignored and why.",
        discussion: """
            Fails, naming the file, when a hook is malformed, reserved, not a regular file or unsafe.

            In DevStack mode it also lists the plugins local.conf enables (after extras.d's \
            hooks, as they run), where each checkout is and the packages its devstack/files/debs \
            lists; to read local.conf as DevStack does, it runs DevStack's settings step as one unit.
            """
    )

    @OptionGroup var extras: ExtrasOptions

    @Option(name: .shortAndLong, help: "Output format: text or json.")
    var output: OutputFormat = .text

    func run() async throws {
        let config = try Invocation.config()
        let environment = Invocation.environment(config)
        let phase = try HookPhase(
            extrasDir: extras.extrasDir, topDir: extras.topDir, call: .unstack,
            driver: try DriverSelection.resolve(flag: nil, environment: environment),
            env: [], timeout: nil, user: nil, processEnvironment: environment, config: config)
        let listing = try await phase.listing { try await SystemdManager.connect() }
        switch output {
        case .json:
            printJSON(listing)
        case .text:
            if let top = listing.topDir { say("DevStack checkout: \(top) (hooks run in DevStack's environment)") }
            say("extras.d: \(listing.extrasDir)")
            if listing.hooks.isEmpty && (listing.plugins ?? []).isEmpty { say("no hooks") }
            for hook in listing.hooks { say("  \(hook.file)") }
            for plugin in listing.plugins ?? [] {
                say("  plugin:\(plugin.name)  (enable_plugin in local.conf: \(plugin.directory)\(plugin.present ? "" : ", not there yet: cloned from \(plugin.url) on the next run"))")
                if !plugin.packages.isEmpty { say("      packages (devstack/files/debs): \(plugin.packages.joined(separator: " "))") }
            }
            for entry in listing.ignored { say("  ignored: \(entry.file) (\(entry.reason))") }
        }
    }
}

struct HooksRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one phase of all hooks, each as a systemd transient unit.",
        discussion: """
            Calls: stack pre-install | stack install | stack post-config | stack extra | \
            stack test-config | unstack | clean.

            In stack, hooks run with errexit and the first failure stops the phase. In unstack \
            and clean every hook runs and the command fails afterwards if any did.

            Hooks see VIRT_DRIVER, TOP_DIR, HVCTL_RUN, HVCTL_MODE, HVCTL_PHASE, HVCTL_HOOK, \
            ENABLED_SERVICES (from this environment), every --env, and DevStack's \
            is_service_enabled, enable_service, disable_service, echo_summary, die, warn, \
            trueorfalse, iniset and iniget.

            SIGINT or SIGTERM stops the running hook's unit before hvctl exits.

            In DevStack mode the call runs after DevStack's environment is built (settings, \
            override_defaults, libraries, source: each a unit, shown as it runs), in that \
            environment: hooks see every DevStack function and variable, and VIRT_DRIVER is \
            --driver, else local.conf's, else the default above.

            Examples:
              hvctl hooks run stack install --extras-dir ./extras.d
              hvctl hooks run unstack --env ENABLED_SERVICES=n-cpu --dry-run
              hvctl hooks run stack post-config --top-dir /opt/stack/devstack
            """
    )

    @Argument(help: "stack, unstack or clean.")
    var mode: String

    @Argument(help: "With stack: pre-install, install, post-config, extra or test-config.")
    var phase: String?

    @OptionGroup var hooks: HookOptions

    @Option(help: "VIRT_DRIVER for the hooks (default: $VIRT_DRIVER, else the active driver, else libvirt).")
    var driver: String?

    @Flag(help: "Print the units that would run, in order, and run none.")
    var dryRun = false

    @Option(name: .shortAndLong, help: "Output format: text or json.")
    var output: OutputFormat = .text

    func run() async throws {
        let config = try Invocation.config()
        let environment = Invocation.environment(config)
        let selection = try DriverSelection.resolve(
            flag: driver, environment: environment, state: try StateStore.fromEnvironment(environment).load(),
            configured: config.virtDriver)
        let phase = try hooks.phase(try HookCall(mode: mode, phase: phase), driver: selection, config: config, environment: environment)
        let run = RunID.generate()

        if dryRun {
            let units = try phase.environmentPlan(run: run, strict: phase.call.stopsAtFirstFailure) + phase.plan(run: run)
            if output == .json {
                printJSON(units.map { ["unit": $0.name, "hook": $0.syslogIdentifier ?? ""] })
            } else {
                say("would run \(units.count) hook\(units.count == 1 ? "" : "s") for '\(phase.call)' (run \(run)):")
                for unit in units { say("  \(unit.name)") }
            }
            return
        }

        let text = output == .text
        let report = try await phase.runGuarded(run: run, state: StateStore.fromEnvironment(environment), note: note, interruptible: cancellingOnInterrupt) { outcome in
            if text { say(HookLines.render(outcome)) }
        }
        if report.unrecorded { note(HookLines.unrecordedNote(report.run)) }
        if !report.unwaitedJobs.isEmpty {
            note("async jobs nobody waited for were stopped: \(report.unwaitedJobs.joined(separator: ", ")) (a job lasts one run: wait for it in the same hvctl command)")
        }
        if text {
            say(HookLines.summary(report))
        } else {
            printJSON(report)
        }
        if report.interrupted { throw ExitCode(130) }
        if !report.succeeded {
            let failed = report.hooks.filter { !$0.succeeded }.map(\.hook)
            StandardStream.error.write("hvctl: \(report.mode) \(report.mode == "stack" ? report.phase + " " : "")failed: \(failed.joined(separator: ", "))\n")
            throw ExitCode(1)
        }
    }
}

/// How hook results read in a terminal.
enum HookLines {
    static func render(_ o: HookOutcome) -> String {
        let call = o.mode == "stack" ? "stack \(o.phase)" : o.mode
        let time = "\(o.seconds.fixed(2)) s"
        if o.succeeded {
            return "ok    \(o.hook)  \(call)  \(time)" + (o.note.map { "  (\($0))" } ?? "")
        }
        let why: String
        switch o.result {
        case "exit-code": why = "exit \(o.exitStatus)"
        case "signal": why = "killed by signal \(o.exitStatus - 128)"
        case "timeout": why = "timed out"
        default: why = o.result
        }
        var lines = ["FAIL  \(o.hook)  \(call)  \(why)  \(time)"]
        if let last = o.lastLines, !last.isEmpty {
            lines.append("      last \(last.count) line\(last.count == 1 ? "" : "s"):")
            lines += last.map { "      | \($0)" }
        }
        lines.append("      all of it: \(HookLog.journalctlCommand(for: o.unit))")
        return lines.joined(separator: "\n")
    }

    static func unrecordedNote(_ run: String) -> String {
        "journald is not running: the hooks' output was not recorded, and `hvctl logs` cannot show run \(run)"
    }

    static func summary(_ r: HookRunReport) -> String {
        let failed = r.hooks.filter { !$0.succeeded }.count
        let ok = r.hooks.count - failed
        var s = "\(r.hooks.count) hook\(r.hooks.count == 1 ? "" : "s") ran: \(ok) ok, \(failed) failed (run \(r.run))"
        if r.interrupted {
            s += r.stoppedHook.map { "; interrupted: stopped \($0) (SIGTERM, then SIGKILL after \(HookRunner.stopGrace.formattedSeconds))" }
                ?? "; interrupted between hooks"
        }
        return s
    }
}

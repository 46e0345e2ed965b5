import Core
import DevStack
import FoundationEssentials
import Glibc
import Hooks
import Hypervisors
import Systemd

/// One phase of extras.d hooks as a user asks for it: which directory, which call, for
/// which driver, with what environment. `prepare()` checks everything before anything runs.
public struct HookPhase: Sendable {
    public var extras: ExtrasDirectory
    public var topDir: String
    public var call: HookCall
    public var driver: DriverSelection
    /// `--env NAME=VALUE` entries, already checked.
    public var environment: [String: String]
    public var timeout: Duration
    public var user: String?
    /// DevStack mode: TOP_DIR is a DevStack checkout (stack.sh, functions, stackrc), so hooks
    /// run in DevStack's own environment built from it, and extras.d defaults to its extras.d.
    public var devstack: DevStackTree?

    public static let defaultTimeout: Duration = .seconds(1800)

    /// Per hook file, from the configuration's [hook_timeout].
    public var hookTimeouts: [String: Duration] = [:]

    /// `processEnvironment` should already hold the configuration's values under the real
    /// ones (`HostConfig.environment(over:)`); `config` adds TOP_DIR, [hook_env] and
    /// [hook_timeout].
    public init(
        extrasDir: String?, topDir: String?, call: HookCall, driver: DriverSelection,
        env: [String], timeout: Duration?, user: String?, processEnvironment: [String: String],
        config: HostConfig = HostConfig()
    ) throws {
        let givenExtras = extrasDir ?? processEnvironment["HVCTL_EXTRAS_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        let givenTop = (topDir ?? config.topDir).map(ExtrasDirectory.absolute)
        if givenExtras == nil, let givenTop, let tree = DevStackTree(topDir: givenTop) {
            extras = ExtrasDirectory(path: tree.extrasDirectory, policy: config.hookPolicy)
        } else {
            extras = ExtrasDirectory(path: givenExtras ?? ExtrasDirectory.defaultPath, policy: config.hookPolicy)
        }
        self.topDir = givenTop ?? extras.defaultTopDir
        devstack = DevStackTree(topDir: self.topDir)
        hookTimeouts = config.hookTimeouts.mapValues { .seconds($0) }
        self.call = call
        self.driver = driver
        self.timeout = timeout ?? Self.defaultTimeout
        if let user, let problem = HookEnvironment.userProblem(user) { throw HookError.invalidUser(user, reason: problem) }
        self.user = user
        var environment = config.hookEnvironment
        // As DevStack users expect, the caller's ENABLED_SERVICES reaches the hooks.
        if let services = processEnvironment["ENABLED_SERVICES"] { environment["ENABLED_SERVICES"] = services }
        for entry in env {
            guard let eq = entry.firstIndex(of: "="), HookEnvironment.isShellName(entry[..<eq]) else {
                throw HookError.invalidEnvironment(entry)
            }
            if let problem = HookEnvironment.problem(with: entry[..<eq]) {
                throw HookError.forbiddenEnvironment(name: String(entry[..<eq]), reason: problem)
            }
            environment[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
        }
        self.environment = environment
    }

    /// `--hook-timeout` / HVCTL_HOOK_TIMEOUT, in whole seconds.
    public static func timeout(flag: Int?, environment: [String: String]) throws -> Duration? {
        if let flag {
            guard flag > 0, flag <= HostConfig.maxSeconds else {
                throw StackError.invalidValue("--hook-timeout", "\(flag)", expected: "a number of seconds from 1 to \(HostConfig.maxSeconds)")
            }
            return .seconds(flag)
        }
        if let raw = environment["HVCTL_HOOK_TIMEOUT"], !raw.isEmpty {
            guard let seconds = Int(raw), seconds > 0, seconds <= HostConfig.maxSeconds else {
                throw StackError.invalidValue("HVCTL_HOOK_TIMEOUT", raw, expected: "a number of seconds from 1 to \(HostConfig.maxSeconds)")
            }
            return .seconds(seconds)
        }
        return nil
    }

    /// The hooks, in order, after every check that must pass before anything runs. In DevStack
    /// mode a missing extras.d means no hooks, as in DevStack's run_phase.
    public func prepare() throws -> ExtrasDirectory.Contents {
        if devstack != nil && !FileManager.default.fileExists(atPath: extras.path) {
            _ = try extras.checkTopDir(topDir)
            return ExtrasDirectory.Contents(hooks: [], ignored: [])
        }
        return try extras.scan(topDir: topDir)
    }

    /// DevStack mode: the checkout at its physical path, once it passed the trust rule.
    /// All of it, not only what hvctl's own layout sources: DevStack reads and runs files from
    /// everywhere in its checkout (files/, tools/, a .stackenv an earlier stack.sh left).
    public func devstackTree() throws -> DevStackTree? {
        guard devstack != nil else { return nil }
        let top = try extras.checkTopDir(topDir)
        try PathTrust(extras.policy, purpose: "run hooks in a DevStack checkout").verifyTree(top)
        return DevStackTree(topDir: top)
    }

    /// Who may own plugin checkouts and $DEST: whoever may own hooks, and with --user that
    /// user too: a plugin's code then runs only as that user, and its clone is theirs.
    public var trust: PathTrust {
        let user = self.user.flatMap { getpwnam($0)?.pointee.pw_uid }
        return PathTrust(user.map { extras.policy.adding([$0]) } ?? extras.policy, purpose: "run DevStack plugins")
    }

    /// The runner for this phase's hooks.
    public func runner(run: RunID, manager: SystemdManager) -> HookRunner {
        HookRunner(manager: manager, options: options(run: run))
    }

    /// DevStack mode: stack.sh's settings for `run`, read by a unit; --driver wins over
    /// local.conf, else the selection is stackrc's default.
    public func buildEnvironment(
        run: RunID, manager: SystemdManager, forcedDriver: String?, name: String? = nil,
        onOutcome: @escaping @Sendable (HookOutcome) -> Void = { _ in }
    ) async throws -> (DevStackEnvironment, HookRunReport)? {
        guard let tree = try devstackTree() else { return nil }
        return try await DevStackEnvironment.build(
            tree: tree, extras: try prepare().hooks, runner: runner(run: run, manager: manager), trust: trust,
            forcedDriver: forcedDriver, name: name ?? run.value, onOutcome: onOutcome)
    }

    public func options(run: RunID) -> HookRunner.Options {
        var o = HookRunner.Options(run: run, driver: driver.name, topDir: topDir)
        o.environment = environment
        o.timeout = timeout
        o.hookTimeouts = hookTimeouts
        o.user = user
        return o
    }

    /// The units the phase would start, in order, without starting any.
    /// In DevStack mode with local.conf's meta-section merges around the call. Plugins come
    /// from DevStack's settings, which a plan does not run: their units are not listed.
    public func plan(run: RunID) throws -> [TransientService] {
        let o = options(run: run)
        let calls = try HookRunner.plan(try prepare().hooks, call, o)
        guard let tree = devstack else { return calls }
        let merges = DevStackEnvironment.merges(around: call)
        func steps(_ steps: [DevStackSteps.Step]) throws -> [TransientService] {
            // A root run lists a merge's targets first, to check them (DevStackEnvironment.run).
            try steps.filter { tree.hasMetaSections(for: $0.group) }
                .flatMap { merge in (o.user == nil ? [merge.targets].compactMap { $0 } : []) + [merge] }
                .flatMap { try HookRunner.plan([DevStackSteps.hook($0)], .build, o) }
        }
        return try steps(merges.before) + calls + steps(merges.after)
    }

    /// DevStack mode: the units that build the environment, in order (`strict`: stack's; else
    /// unstack's and clean's, with openrc).
    public func environmentPlan(run: RunID, strict: Bool) throws -> [TransientService] {
        guard devstack != nil else { return [] }
        let o = options(run: run)
        let hooks = try prepare().hooks
        func step(_ step: DevStackSteps.Step) throws -> [TransientService] { try HookRunner.plan([DevStackSteps.hook(step)], .build, o) }
        return try step(.settings) + (strict ? [] : step(.openrc)) + HookRunner.plan(hooks, .overrideDefaults, o) + step(.libraries)
            + HookRunner.plan(hooks, .source, o) + step(.ready)
    }

    public func run(
        run: RunID, manager: SystemdManager, onOutcome: @escaping @Sendable (HookOutcome) -> Void
    ) async throws -> HookRunReport {
        if devstack != nil {
            return try await runInDevStack(run: run, manager: manager, onOutcome: onOutcome)
        }
        let hooks = try prepare().hooks
        return try await HookRunner(manager: manager, options: options(run: run)).run(hooks, call, onOutcome: onOutcome)
    }

    /// What `hvctl hooks list` shows: extras.d's hooks and, in DevStack mode, the plugins
    /// local.conf enables, in run order, with where each comes from. Reading local.conf's
    /// plugins takes DevStack's settings step, so in DevStack mode this starts one unit.
    public struct Listing: Sendable, Codable {
        public var extrasDir: String
        public var hooks: [Hook]
        public var ignored: [IgnoredEntry]
        /// DevStack mode only.
        public var topDir: String?
        public var plugins: [Plugin]?

        public struct Plugin: Sendable, Codable {
            public var name: String
            public var url: String
            public var branch: String
            public var directory: String
            /// false: the next run clones it.
            public var present: Bool
            /// What its devstack/files/debs lists, once it is there.
            public var packages: [String]
        }
    }

    public func listing(manager: @Sendable () async throws -> SystemdManager) async throws -> Listing {
        let contents = try prepare()
        var listing = Listing(extrasDir: extras.path, hooks: contents.hooks, ignored: contents.ignored)
        if devstack != nil {
            let run = RunID.generate()
            let forced = driver.source == "--driver" ? driver.name : nil
            if let (environment, _) = try await buildEnvironment(run: run, manager: try await manager(), forcedDriver: forced) {
                listing.topDir = environment.tree.topDir
                let trust = self.trust
                listing.plugins = environment.settings.plugins.map {
                    let present = FileManager.default.fileExists(atPath: $0.directory)
                    // Only from a checkout that passes the trust rule, and never for --user.
                    let trusted = present && user == nil ? (try? trust.verifyTree($0.directory)) : nil
                    return Listing.Plugin(
                        name: $0.name, url: $0.url, branch: $0.branch, directory: $0.directory, present: present,
                        packages: trusted.map { DevStackPlugin.packages(in: $0 + "/devstack/files/debs") } ?? [])
                }
                await environment.finish()
            }
        }
        return listing
    }

    /// `hvctl hooks run`: the phase under a run's lease and reaper (hook units outlive a killed
    /// hvctl; the reaper stops them), `interruptible` wrapping it (the CLI's Ctrl-C handling).
    public func runGuarded(
        run: RunID, state: StateStore, note: @escaping @Sendable (String) -> Void,
        interruptible: (@escaping @Sendable () async throws -> HookRunReport) async throws -> HookRunReport,
        onOutcome: @escaping @Sendable (HookOutcome) -> Void
    ) async throws -> HookRunReport {
        _ = try plan(run: run)  // a bad extras.d is refused before anything starts
        let manager = try await SystemdManager.connect()
        let context = DriverContext(systemd: manager, state: state, run: run)
        return try await RunGuard.guarding(context, command: "hvctl hooks run \(call)", drivers: [], note: note) {
            try await interruptible {
                try await self.run(run: run, manager: manager, onOutcome: onOutcome)
            }
        }
    }

    /// `hvctl hooks run` in DevStack mode: the environment, then the one call.
    func runInDevStack(run: RunID, manager: SystemdManager, onOutcome: @escaping @Sendable (HookOutcome) -> Void) async throws -> HookRunReport {
        let forced = driver.source == "--driver" ? driver.name : nil
        let built: (DevStackEnvironment, HookRunReport)?
        do {
            built = try await buildEnvironment(run: run, manager: manager, forcedDriver: forced, onOutcome: onOutcome)
        } catch is CancellationError {
            var report = HookRunReport(run: run.value, mode: call.mode, phase: call.phase, driver: driver.name, hooks: [], interrupted: true)
            report.stoppedHook = "devstack:settings"
            return report
        }
        guard case (var environment, let settings)? = built else {
            return HookRunReport(run: run.value, mode: call.mode, phase: call.phase, driver: driver.name, hooks: [], interrupted: false)
        }
        var report = HookRunReport(run: run.value, mode: call.mode, phase: call.phase, driver: environment.settings.virtDriver, hooks: [], interrupted: false)
        report.append(settings)
        let strict = call.stopsAtFirstFailure
        do {
            let runner = runner(run: run, manager: manager)
            report.append(try await environment.prepare(runner: runner, trust: trust, strict: strict, onOutcome: onOutcome))
            // unstack.sh and clean.sh go on after a failure; stack.sh does not.
            if !report.interrupted && (report.succeeded || !strict) {
                report.append(try await environment.run(call, runner: runner, onOutcome: onOutcome))
            }
        } catch {
            await environment.finish()
            throw error
        }
        report.unwaitedJobs = await environment.finish()
        return report
    }
}

import Core
import FoundationEssentials
import Glibc
import Hooks
import Synchronization
import Systemd
import SystemPackage

/// DevStack's environment for one flow, built from the tree as stack.sh builds its own, and
/// carried from call to call as in one shell (ShellState):
///
///   settings → plugins fetched and checked → [openrc, in unstack and clean] →
///   override_defaults (extras.d, then plugins) → libraries → source (extras.d, then plugins'
///   settings) → ready
///
/// then each phase: extras.d's hooks, then the plugins' plugin.sh, with local.conf's meta
/// sections merged where stack.sh merges them. Every call is a unit of its own.
public struct DevStackEnvironment: Sendable {
    public var tree: DevStackTree
    /// What the settings step found.
    public var settings: DevStackSettings
    /// After `prepare`: checked, in registration order.
    public var plugins: [DevStackPlugin] = []
    private var pluginsFetched = false
    /// extras.d's hooks, in run order.
    public var extras: [Hook]
    /// What a root run holds the files it merges into to.
    var trust: PathTrust
    /// The run's directory and job server, finished exactly once however many copies of
    /// this value there are.
    let resources: Resources

    public var shell: ShellState { resources.shell }
    public var jobs: JobServer { resources.jobs }

    /// `runner` as every call of this environment needs it: in its shell state, in TOP_DIR,
    /// with the job socket.
    func configured(_ runner: HookRunner, strict: Bool?) -> HookRunner {
        var step = runner
        step.options.shellState = shell
        step.options.strict = strict
        step.options.topDir = tree.topDir
        step.options.environment["HVCTL_JOBS_SOCKET"] = jobs.path
        step.options.environment["HVCTL_EXECUTABLE"] = RuntimePaths.executable
        return step
    }

    /// extras.d's hooks, then the plugins, as run_phase runs them.
    public var hooks: [Hook] { extras + plugins.map(\.hook) }

    /// Where the ready step writes, for a root run, the packages DevStack's own
    /// get_plugin_packages lists for the plugins.
    var packagesFile: String { shell.directory + "/packages" }

    /// Runs stack.sh's settings as the unit `hvctl-RUN-devstack-settings.service`. `runner`'s
    /// driver is VIRT_DRIVER for stackrc's default when local.conf names none; `forcedDriver`
    /// (--driver) wins over local.conf. `name` tells apart several environments of one run.
    ///
    /// The settings step runs as root even for a --user run, before the run's directory is
    /// handed to that user: it only reads the checkout and local.conf (both held to the trust
    /// rule), and what it decides — the driver, the plugins, $DEST — must not come from a
    /// shell, or a file, that user controls. Then $DEST is held to the trust rule.
    public static func build(
        tree: DevStackTree, extras: [Hook], runner: HookRunner, trust: PathTrust, forcedDriver: String?, name: String,
        onOutcome: @escaping @Sendable (HookOutcome) -> Void = { _ in }
    ) async throws -> (DevStackEnvironment, HookRunReport) {
        try DevStackSteps.install()
        let shell = try ShellState.create(name: name)
        let resources: Resources
        do {
            // stackrc looks for localrc (and .localrc.password) where it is itself: a stand-in
            // for TOP_DIR holding links to TOP_DIR's files and the localrc section hvctl extracts.
            for file in ["stackrc", "functions", ".localrc.password"] where file != ".localrc.password" || DevStackTree.isRegularFile(tree.topDir + "/" + file) {
                guard symlink(tree.topDir + "/" + file, shell.directory + "/" + file) == 0 else {
                    throw DevStackError.stepFailed("settings", detail: "cannot link \(file): \(Errno.current.description)")
                }
            }
            var jobRunner = runner
            jobRunner.options.topDir = tree.topDir
            jobRunner.options.preludePath = ShellState.prelude().path
            resources = Resources(shell: shell, jobs: try JobServer.start(in: shell, user: runner.options.user, runner: jobRunner))
        } catch {
            shell.remove()
            throw error
        }
        // From here on `resources` cleans up after itself if this throws.
        var environment = DevStackEnvironment(tree: tree, settings: DevStackSettings.empty, extras: extras, trust: trust, resources: resources)
        // stack.sh sets errexit only after its settings.
        var step = environment.configured(runner, strict: false)
        step.options.user = nil
        step.options.environment["HVCTL_RC_DIR"] = shell.directory
        step.options.environment["HVCTL_SETTINGS"] = shell.directory + "/settings"
        if let forcedDriver { step.options.environment["HVCTL_VIRT_DRIVER"] = forcedDriver }
        let report = try await step.run([DevStackSteps.hook(.settings)], .build, onOutcome: onOutcome)
        if report.interrupted { throw CancellationError() }
        if let failed = report.hooks.first(where: { !$0.succeeded }) {
            throw DevStackError.stepFailed("settings", detail: "\(failed.hook) \(failed.result)" + (failed.lastLines?.last.map { ": \($0)" } ?? "") + "; see `journalctl -u \(failed.unit)`")
        }
        do {
            environment.settings = try DevStackSettings.read(shell.directory + "/settings")
        } catch {
            throw DevStackError.noSettings(unit: report.hooks.first?.unit ?? "", detail: "\(error)")
        }
        if runner.options.user == nil { try checkStackUser(environment.settings.stackUser, trust: trust) }
        try checkDest(environment.settings.dest, trust: trust, user: runner.options.user)
        try shell.hand(to: runner.options.user)
        return (environment, report)
    }

    /// DevStack hands directories to STACK_USER (lib/nova's /etc/nova, lib/tempest's
    /// $DEST/tempest/etc) and then writes into them as the user it runs as — root, in a root
    /// run. Unless STACK_USER is root or trusted, that user could link what root writes next
    /// anywhere, so a root run refuses it. A user that does not exist is handed nothing
    /// (DevStack stops at `id -gn`).
    static func checkStackUser(_ name: String, trust: PathTrust) throws {
        guard !name.isEmpty, let entry = getpwnam(name), !trust.policy.trusts(entry.pointee.pw_uid) else { return }
        throw DevStackError.untrustedStackUser(name)
    }

    /// $DEST holds what DevStack's hooks install and then run (tempest's virtualenv, the
    /// projects' checkouts): it and everything in it are held to the trust rule, so nobody else
    /// can have planted what root will run from there. Missing, root makes it, as stack.sh
    /// does (a --user run's hooks make their own).
    static func checkDest(_ dest: String, trust: PathTrust, user: String?) throws {
        guard !dest.isEmpty else { return }
        let path = RuntimePaths.normalized(dest)
        try trust.verifyExistingPrefix(path)
        var st = stat()
        if lstat(path, &st) != 0 {
            guard user == nil else { return }
            guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
                throw DevStackError.stepFailed("settings", detail: "cannot create DEST \(path): \(Errno.current.description)")
            }
        }
        // At every depth: root runs code from anywhere below (tempest's .tox/bin/pip).
        _ = try trust.verify(path, as: .directory)
        try trust.verifyTree(path, limit: destEntryLimit)
    }

    /// A DevStack host's $DEST (checkouts, virtualenvs, data) holds some 100,000 entries; a
    /// walk of 138,000 (/usr here) added 1.8 s to a flow (debug build).
    static let destEntryLimit = 1_000_000

    /// The plugins' checkouts, cloned when missing, held to the trust rule.
    public mutating func fetchPlugins(trust: PathTrust, runner: HookRunner) async throws {
        var fetched: [DevStackPlugin] = []
        for entry in settings.plugins {
            fetched.append(try await DevStackPlugin.fetch(entry, trust: trust, runner: runner))
        }
        plugins = fetched
        pluginsFetched = true
    }

    /// Fetches and checks the plugins (unless `fetchPlugins` did), then, as stack.sh (strict)
    /// or unstack.sh and clean.sh do: openrc (not in stack), override_defaults, the libraries,
    /// the source phase and the ready step. Reports every call, in order. Strict, the first
    /// failure stops it; otherwise every step runs, as in those scripts, which have no errexit.
    public mutating func prepare(
        runner: HookRunner, trust: PathTrust, strict: Bool, onOutcome: @escaping @Sendable (HookOutcome) -> Void
    ) async throws -> HookRunReport {
        if !pluginsFetched { try await fetchPlugins(trust: trust, runner: runner) }
        var step = configured(runner, strict: strict)
        if runner.options.user == nil { step.options.environment["HVCTL_PACKAGES"] = packagesFile }
        var report = HookRunReport(run: runner.options.run.value, mode: "devstack", phase: "environment", driver: runner.options.driver, hooks: [], interrupted: false)
        let sequence: [(HookCall, [Hook])] =
            (strict ? [] : [(.build, [DevStackSteps.hook(.openrc)])]) + [
                (.overrideDefaults, hooks), (.build, [DevStackSteps.hook(.libraries)]), (.source, hooks),
                (.build, [DevStackSteps.hook(.ready)]),
            ]
        for (call, hooks) in sequence {
            let part = try await step.run(hooks, call, onOutcome: onOutcome)
            report.append(part)
            if part.interrupted || (strict && !part.succeeded) { break }
        }
        return report
    }

    /// What DevStack's get_plugin_packages listed in the ready step, for a root run.
    public var pluginPackages: [String] {
        guard let text = DevStackPlugin.smallFile(packagesFile, limit: 1 << 20) else { return [] }
        return text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init).filter(DevStackPlugin.isPackageName)
    }

    /// local.conf's meta sections merged around a phase, as stack.sh merges them: [[extra|…]]
    /// before `stack extra`, the others after their phase.
    public static func merges(around call: HookCall) -> (before: [DevStackSteps.Step], after: [DevStackSteps.Step]) {
        switch call {
        case .stack(.postConfig): return ([], [.mergePostConfig])
        case .stack(.extra): return ([.mergeExtra], [.mergePostExtra])
        case .stack(.testConfig): return ([], [.mergeTestConfig])
        default: return ([], [])
        }
    }

    /// One phase: extras.d, the plugins, and local.conf's meta sections around it.
    public func run(
        _ call: HookCall, runner: HookRunner, strict: Bool? = nil, onOutcome: @escaping @Sendable (HookOutcome) -> Void
    ) async throws -> HookRunReport {
        let step = configured(runner, strict: strict)
        let merges = Self.merges(around: call)
        var report = HookRunReport(run: runner.options.run.value, mode: call.mode, phase: call.phase, driver: runner.options.driver, hooks: [], interrupted: false)
        func merge(_ steps: [DevStackSteps.Step]) async throws {
            for merge in steps where report.succeeded && tree.hasMetaSections(for: merge.group) {
                // A --user run merges as that user, with that user's rights; root's merge
                // would follow whatever STACK_USER (who owns /etc/nova in DevStack) links there.
                if runner.options.user == nil, let targets = merge.targets {
                    var lister = step
                    lister.options.environment["HVCTL_MERGE_TARGETS"] = targetsFile(merge.group)
                    report.append(try await lister.run([DevStackSteps.hook(targets)], .build, onOutcome: onOutcome))
                    guard report.succeeded else { return }
                    try checkMergeTargets(merge.group)
                }
                report.append(try await step.run([DevStackSteps.hook(merge)], .build, onOutcome: onOutcome))
            }
        }
        try await merge(merges.before)
        guard report.succeeded else { return report }
        report.append(try await step.run(hooks, call, onOutcome: onOutcome))
        try await merge(merges.after)
        return report
    }

    func targetsFile(_ group: String) -> String { shell.directory + "/merge-targets-" + group }

    /// Holds every file a root merge will write to the trust rule (`prepareRootWrite`).
    func checkMergeTargets(_ group: String) throws {
        let step = "merge-" + group
        guard let text = DevStackPlugin.smallFile(targetsFile(group), limit: 1 << 20) else {
            throw DevStackError.stepFailed(step, detail: "the list of files to merge into is missing or too large")
        }
        let raw = text.split(separator: "\0").map(String.init)
        // One plain path each, as checked is as written: DevStack splits and globs the spec
        // unquoted, and its `dirname` of several words makes it chown checked directories to
        // STACK_USER; a `..` or `.` would be checked lexically, not where the kernel goes.
        for spec in raw {
            let absolute = spec.hasPrefix("/") ? spec : tree.topDir + "/" + spec
            if spec.contains(where: { " \t\n*?[".contains($0) }) || RuntimePaths.normalized(absolute) != absolute {
                throw DevStackError.stepFailed(step, detail: "[[\(group)|…]] names '\(OneLine.escaping(spec))'; give each section one plain path (no spaces, globs, '.' or '..')")
            }
        }
        let targets = raw.map { $0.hasPrefix("/") ? $0 : tree.topDir + "/" + $0 }
        var trust = self.trust
        trust.purpose = "merge local.conf's [[\(group)|…]] sections as root (run with --user, or name their owner in trusted_users)"
        try trust.collecting(targets.map { target in { try Self.prepareRootWrite(to: target, trust: trust, step: step) } })
    }

    /// Before root writes `target` with DevStack's own code (a merge, a hypervisor script's
    /// configure writing NOVA_CONF): each directory on its way root's or a trusted user's and
    /// closed to others, so nobody else can put a link there between this check and the write
    /// (the file itself may be anyone's: nova may own nova.conf). A missing directory is made
    /// here, root's, mode 0755 — DevStack would make it and give it to STACK_USER, who could
    /// then plant a link before the write.
    public static func prepareRootWrite(to target: String, trust: PathTrust, step: String) throws {
        let dir = PathName.parent(of: target)
        var st = stat()
        if lstat(dir, &st) != 0 {
            try trust.verifyExistingPrefix(dir)
            try makeDirectories(dir, step: step)
        }
        // The directory first and strictly: it is what a link could be planted in.
        try trust.verify(dir, as: .directory)
        _ = try trust.verifyWritable(target)
    }

    /// NOVA_CONF as lib/nova set it, for a root run (the ready step wrote it).
    public var novaConf: String? {
        DevStackPlugin.smallFile(shell.directory + "/nova-conf", limit: 4096).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `mkdir -p` as root, mode 0755, each new directory checked as it is made.
    static func makeDirectories(_ path: String, step: String) throws {
        var made = "/"
        for component in path.split(separator: "/") {
            made += (made == "/" ? "" : "/") + component
            guard mkdir(made, 0o755) == 0 || errno == EEXIST else {
                throw DevStackError.stepFailed(step, detail: "cannot create \(made): \(Errno.current.description)")
            }
        }
    }

    /// One unit in this environment's shell state, strict as stack.sh (a hypervisor
    /// script's verb, as lib/nova calls it).
    public func call(_ hook: Hook, runner: HookRunner, strict: Bool, onOutcome: @escaping @Sendable (HookOutcome) -> Void) async throws -> HookRunReport {
        try await configured(runner, strict: strict).run([hook], .build, onOutcome: onOutcome)
    }

    /// Stops the jobs nobody waited for (named in the result: DevStack only warns about
    /// them), then removes the run's shell state, passwords included. Once: later calls, on
    /// this value or a copy, return [].
    @discardableResult
    public func finish() async -> [String] {
        await resources.finish()
    }
}

extension DevStackEnvironment {
    /// The run's directory and job server. A value that is dropped unfinished (an error
    /// before the flow's end, a `start` that finds the driver up) still closes the socket
    /// and removes the directory, passwords included.
    final class Resources: Sendable {
        let shell: ShellState
        let jobs: JobServer
        private let finished = Mutex(false)

        init(shell: ShellState, jobs: JobServer) {
            self.shell = shell
            self.jobs = jobs
        }

        func finish() async -> [String] {
            guard finished.withLock({ done in defer { done = true }; return !done }) else { return [] }
            let unwaited = await jobs.finish()
            shell.remove()
            return unwaited
        }

        deinit {
            guard finished.withLock({ !$0 }) else { return }
            jobs.close()
            shell.remove()
        }
    }
}

extension HookRunReport {
    /// `other`'s calls after this one's.
    public mutating func append(_ other: HookRunReport) {
        hooks += other.hooks
        interrupted = interrupted || other.interrupted
        stoppedHook = stoppedHook ?? other.stoppedHook
        unrecorded = unrecorded || other.unrecorded
        unwaitedJobs += other.unwaitedJobs
    }
}

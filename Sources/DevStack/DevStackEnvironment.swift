import Core
import Foundation
import Glibc
import Hooks
import Systemd

/// DevStack's environment for one flow, built from the tree as stack.sh builds its own, and
/// carried from call to call as in one shell (ShellState):
///
///   settings → plugins fetched and checked → override_defaults (extras.d, then plugins) →
///   libraries → source (extras.d, then plugins' settings) → ready
///
/// then each phase: extras.d's hooks, then the plugins' plugin.sh, then local.conf's meta
/// sections for post-config and test-config. Every call is a unit of its own.
public struct DevStackEnvironment: Sendable {
    public var tree: DevStackTree
    public var shell: ShellState
    /// What the settings step found.
    public var settings: DevStackSettings
    /// After `prepare`: checked, in registration order.
    public var plugins: [DevStackPlugin] = []
    private var pluginsFetched = false
    /// extras.d's hooks, in run order.
    public var extras: [Hook]
    /// inc/async's jobs of this environment's calls.
    public var jobs: JobServer

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

    /// Runs stack.sh's settings as the unit `hvctl-RUN-devstack-settings.service`. `runner`'s
    /// driver is VIRT_DRIVER for stackrc's default when local.conf names none; `forcedDriver`
    /// (--driver) wins over local.conf. `name` tells apart several environments of one run.
    ///
    /// The settings step runs as root even for a --user run, before the run's directory is
    /// handed to that user: it only reads the checkout and local.conf (both held to the trust
    /// rule), and what it decides — the driver, the plugins, $DEST — must not come from a
    /// shell, or a file, that user controls. Then $DEST is held to the trust rule.
    public static func build(
        tree: DevStackTree, extras: [Hook], runner: HookRunner, trust: PathTrust, forcedDriver: String?, name: String
    ) async throws -> (DevStackEnvironment, HookRunReport) {
        try await DevStackSteps.install()
        let shell = try ShellState.create(name: name)
        do {
            let settingsFile = shell.directory + "/settings"
            // stackrc looks for localrc where it is itself: a stand-in for TOP_DIR holding links
            // to TOP_DIR's stackrc and functions, and the localrc section hvctl extracts.
            for file in ["stackrc", "functions"] {
                guard symlink(tree.topDir + "/" + file, shell.directory + "/" + file) == 0 else {
                    throw DevStackError.stepFailed("settings", detail: "cannot link \(file): \(String(cString: strerror(errno)))")
                }
            }
            var jobRunner = runner
            jobRunner.options.topDir = tree.topDir
            jobRunner.options.preludePath = ShellState.prelude().path
            let jobs = try JobServer.start(in: shell, user: runner.options.user, runner: jobRunner)
            var environment = DevStackEnvironment(tree: tree, shell: shell, settings: DevStackSettings.empty, extras: extras, jobs: jobs)
            // stack.sh sets errexit only after its settings.
            var step = environment.configured(runner, strict: false)
            step.options.user = nil
            step.options.environment["HVCTL_RC_DIR"] = shell.directory
            step.options.environment["HVCTL_SETTINGS"] = settingsFile
            if let forcedDriver { step.options.environment["HVCTL_VIRT_DRIVER"] = forcedDriver }
            let report: HookRunReport
            do {
                report = try await step.run([DevStackSteps.hook(.settings)], .build)
            } catch {
                _ = await jobs.finish()
                throw error
            }
            guard report.succeeded else {
                _ = await jobs.finish()
                throw DevStackError.stepFailed("settings", detail: report.hooks.first.map { "\($0.hook) \($0.result)" } ?? "interrupted")
            }
            do {
                environment.settings = try DevStackSettings.read(settingsFile)
            } catch {
                _ = await jobs.finish()
                throw DevStackError.noSettings(unit: report.hooks.first?.unit ?? "", detail: "\(error)")
            }
            do {
                try checkDest(environment.settings.dest, trust: trust, user: runner.options.user)
                try shell.hand(to: runner.options.user)
            } catch {
                _ = await jobs.finish()
                throw error
            }
            return (environment, report)
        } catch {
            shell.remove()
            throw error
        }
    }

    /// $DEST holds what DevStack's hooks install and then run (tempest's virtualenv, the
    /// projects' checkouts): it and each entry in it are held to the trust rule, so nobody else
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
                throw DevStackError.stepFailed("settings", detail: "cannot create DEST \(path): \(String(cString: strerror(errno)))")
            }
        }
        let physical = try trust.verify(path, as: .directory)
        let names = (try? DirectoryListing.names(of: physical)) ?? []
        try trust.collecting(names.map { name in { _ = try trust.verify(physical + "/" + name) } })
    }

    /// The plugins' checkouts, cloned when missing, held to the trust rule.
    public mutating func fetchPlugins(trust: PathTrust, runner: HookRunner) async throws {
        var fetched: [DevStackPlugin] = []
        for entry in settings.plugins {
            fetched.append(try await DevStackPlugin.fetch(entry, trust: trust, runner: runner))
        }
        plugins = fetched
        pluginsFetched = true
    }

    /// Fetches and checks the plugins (unless `fetchPlugins` did), then runs override_defaults,
    /// the libraries, the source phase and the ready step. Reports every call, in order; stops
    /// at the first failure.
    public mutating func prepare(
        runner: HookRunner, trust: PathTrust, strict: Bool, onOutcome: @escaping @Sendable (HookOutcome) -> Void
    ) async throws -> HookRunReport {
        if !pluginsFetched { try await fetchPlugins(trust: trust, runner: runner) }
        let step = configured(runner, strict: strict)
        var report = HookRunReport(run: runner.options.run.value, mode: "devstack", phase: "environment", driver: runner.options.driver, hooks: [], interrupted: false)
        let sequence: [(HookCall, [Hook])] = [
            (.overrideDefaults, hooks), (.build, [DevStackSteps.hook(.libraries)]), (.source, hooks),
            (.build, [DevStackSteps.hook(.ready)]),
        ]
        for (call, hooks) in sequence {
            let part = try await step.run(hooks, call, onOutcome: onOutcome)
            report.append(part)
            if !part.succeeded { break }
        }
        return report
    }

    /// One phase: extras.d, the plugins, then local.conf's meta sections for it.
    public func run(
        _ call: HookCall, runner: HookRunner, strict: Bool? = nil, onOutcome: @escaping @Sendable (HookOutcome) -> Void
    ) async throws -> HookRunReport {
        let step = configured(runner, strict: strict)
        var report = try await step.run(hooks, call, onOutcome: onOutcome)
        let merge: DevStackSteps.Step? =
            switch call {
            case .stack(.postConfig): .mergePostConfig
            case .stack(.testConfig): .mergeTestConfig
            default: nil
            }
        if let merge, report.succeeded, tree.hasMetaSections(for: merge == .mergePostConfig ? "post-config" : "test-config") {
            report.append(try await step.run([DevStackSteps.hook(merge)], .build, onOutcome: onOutcome))
        }
        return report
    }

    /// The units `prepare` and `run(call)` would start, without starting any (plugins not
    /// yet fetched are not known).
    public func plan(_ call: HookCall, runner: HookRunner) throws -> [TransientService] {
        var options = runner.options
        options.shellState = shell
        return try HookRunner.plan(hooks, call, options)
    }

    /// Stops the jobs nobody waited for (named in the result: DevStack only warns about
    /// them), then removes the run's shell state, passwords included.
    @discardableResult
    public func finish() async -> [String] {
        let unwaited = await jobs.finish()
        shell.remove()
        return unwaited
    }
}

extension DevStackSteps {
    static func install() async throws {
        for step in Step.allCases { try script(step).install() }
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

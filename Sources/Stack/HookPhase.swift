import Core
import Foundation
import Hooks
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
        extras = ExtrasDirectory(
            path: extrasDir ?? processEnvironment["HVCTL_EXTRAS_DIR"].flatMap { $0.isEmpty ? nil : $0 }
                ?? ExtrasDirectory.defaultPath, policy: config.hookPolicy)
        self.topDir = (topDir ?? config.topDir).map(ExtrasDirectory.absolute) ?? extras.defaultTopDir
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

    /// The hooks, in order, after every check that must pass before anything runs.
    public func prepare() throws -> ExtrasDirectory.Contents {
        try extras.scan(topDir: topDir)
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
    public func plan(run: RunID) throws -> [TransientService] {
        try HookRunner.plan(try prepare().hooks, call, options(run: run))
    }

    public func run(
        run: RunID, manager: SystemdManager, onOutcome: @Sendable (HookOutcome) -> Void
    ) async throws -> HookRunReport {
        let hooks = try prepare().hooks
        return try await HookRunner(manager: manager, options: options(run: run)).run(hooks, call, onOutcome: onOutcome)
    }
}

import Core
import DevStack
import FoundationEssentials
import Hooks
import Hypervisors

/// A script driver's verbs as a flow runs them: each its own unit, in the environment the
/// flow's hooks get (DevStack's, with its shell state, in DevStack mode), reported like a
/// hook call.
struct ScriptVerbUnits: ScriptVerbRunner {
    var runner: HookRunner
    var devstack: DevStackEnvironment?
    /// hvctl's compute config, for NOVA_CONF outside DevStack mode.
    var computeConfig: String
    /// What a root run holds NOVA_CONF's way to before configure writes it.
    var trust: PathTrust
    var onOutcome: @Sendable (HookOutcome) -> Void

    /// Sources the script, then calls the verb's function, as lib/nova does. NOVA_CONF's
    /// directory is made when missing, as lib/nova would have made it (root's here, not
    /// STACK_USER's: see the merges in DevStackEnvironment). The per-call variables are unset
    /// before the call so no later call's state carries them.
    static let wrapper = #"""
        # hvctl: one verb of a DevStack hypervisor script, as lib/nova calls it.
        __hvctl_verb=${HVCTL_VERB}_nova_hypervisor
        source "$HVCTL_HYPERVISOR_SCRIPT" || return
        unset HVCTL_VERB HVCTL_HYPERVISOR_SCRIPT
        if [[ -n ${HVCTL_CHECKED_NOVA_CONF:-} && ${NOVA_CONF:-} != "$HVCTL_CHECKED_NOVA_CONF" ]]; then
            echo "hvctl: NOVA_CONF is $NOVA_CONF, not $HVCTL_CHECKED_NOVA_CONF as hvctl checked it; not running $__hvctl_verb" >&2
            unset HVCTL_CHECKED_NOVA_CONF
            return 1
        fi
        unset HVCTL_CHECKED_NOVA_CONF
        if [[ $__hvctl_verb == configure_nova_hypervisor && -n ${NOVA_CONF:-} && ! -d ${NOVA_CONF%/*} ]]; then
            mkdir -p "${NOVA_CONF%/*}"
        fi
        $__hvctl_verb
        """# + "\n"

    static func script() -> RuntimeScript {
        RuntimeScript(path: RuntimePaths.directory() + "/hypervisor-verb.sh", text: wrapper)
    }

    func run(_ verb: ScriptVerb, of driver: ScriptDriver) async throws {
        // Root writes NOVA_CONF with the script's iniset: in DevStack, /etc/nova is
        // STACK_USER's, who could link nova.conf anywhere. As for local.conf's merges.
        var step = runner
        if verb == .configure, runner.options.user == nil {
            // Fails closed: a root run that cannot say where configure writes does not run it.
            guard let target = devstack == nil ? computeConfig : devstack?.novaConf, target.hasPrefix("/") else {
                throw HypervisorError.scriptFailed("\(verb.function) of \(driver.path) not run: hvctl does not know an absolute NOVA_CONF to check before root writes it")
            }
            var trust = self.trust
            trust.purpose = "let \(driver.path) write NOVA_CONF as root (run with --user, or name its owner in trusted_users)"
            try DevStackEnvironment.prepareRootWrite(to: RuntimePaths.normalized(target), trust: trust, step: "configure")
            // The wrapper refuses a NOVA_CONF that changed since (a hook may set it).
            step.options.environment["HVCTL_CHECKED_NOVA_CONF"] = target
        }
        let wrapper = Self.script()
        try wrapper.install()
        step.options.environment["HVCTL_VERB"] = verb.rawValue
        step.options.environment["HVCTL_HYPERVISOR_SCRIPT"] = driver.path
        if devstack == nil { step.options.environment["NOVA_CONF"] = computeConfig }
        let hook = Hook.verb(verb.rawValue, driver: driver.name, wrapper: wrapper.path)
        // stack.sh runs with errexit; unstack.sh and clean.sh without.
        let strict = [.install, .configure, .start].contains(verb)
        let report: HookRunReport
        if let devstack {
            report = try await devstack.call(hook, runner: step, strict: strict, onOutcome: onOutcome)
        } else {
            step.options.strict = strict
            report = try await step.run([hook], .build, onOutcome: onOutcome)
        }
        if report.interrupted { throw CancellationError() }
        if let failed = report.hooks.first(where: { !$0.succeeded }) {
            let last = failed.lastLines?.last.map { ": \($0)" } ?? ""
            throw HypervisorError.scriptFailed("\(verb.function) of \(driver.path) \(failed.result)\(last); see `journalctl -u \(failed.unit)`")
        }
    }
}

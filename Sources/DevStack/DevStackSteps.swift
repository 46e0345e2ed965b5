import Core
import FoundationEssentials
import Hooks

/// hvctl's own shell code for the steps of stack.sh that build its state. Each runs as a
/// unit (`hvctl-RUN-devstack-STEP.service`) like any hook, in DevStack's shell state, and
/// replays — in stack.sh's order — only statements that define state; everything stack.sh
/// does to the host on the way (sudoers, /etc/hosts, tune_host, packages, logging, password
/// prompts, files in TOP_DIR) is left out. The README's "DevStack mode" lists both halves.
public enum DevStackSteps {
    public enum Step: String, Sendable, CaseIterable {
        /// stack.sh from the top to `fetch_plugins`: functions, lib/stack, GetDistro,
        /// local.conf's localrc section, stackrc, lib/database, lib/rpc_backend, lib/host.
        case settings
        /// After override_defaults: lib/apache … lib/os-vif.
        case libraries
        /// After the source phase: verify_disabled_services and the passwords stack.sh
        /// would prompt for.
        case ready
        /// local.conf's [[post-config|FILE]] sections, after the post-config phase.
        case mergePostConfig = "merge-post-config"
        /// local.conf's [[test-config|FILE]] sections, after the test-config phase.
        case mergeTestConfig = "merge-test-config"
        /// [[extra|FILE]], before the extra phase.
        case mergeExtra = "merge-extra"
        /// [[post-extra|FILE]], after the extra phase.
        case mergePostExtra = "merge-post-extra"
        /// unstack.sh and clean.sh: openrc (the OS_* credentials), after the settings.
        case openrc
        /// Before a root run's merge: the files its sections name, expanded in the shell's
        /// state as merge_config_group expands them, for hvctl to hold to the trust rule.
        case targetsPostConfig = "targets-post-config"
        case targetsTestConfig = "targets-test-config"
        case targetsExtra = "targets-extra"
        case targetsPostExtra = "targets-post-extra"

        /// The local.conf meta section group a merge or targets step is for.
        public var group: String {
            for prefix in ["merge-", "targets-"] where rawValue.hasPrefix(prefix) {
                return String(rawValue.dropFirst(prefix.count))
            }
            return rawValue
        }

        /// The step that lists a merge step's targets.
        public var targets: Step? { rawValue.hasPrefix("merge-") ? Step(rawValue: "targets-" + group) : nil }
    }

    public static func script(_ step: Step, _ environment: [String: String] = ProcessInfo.processInfo.environment) -> RuntimeScript {
        RuntimeScript(path: RuntimePaths.directory(environment) + "/devstack-\(step.rawValue).sh", text: text(step))
    }

    /// Every step's script, in the runtime directory.
    static func install() throws {
        for step in Step.allCases { try script(step).install() }
    }

    public static func hook(_ step: Step, _ environment: [String: String] = ProcessInfo.processInfo.environment) -> Hook {
        .step(step.rawValue, script: script(step, environment).path)
    }

    static func text(_ step: Step) -> String {
        switch step {
        case .settings: return settings
        case .libraries: return libraries
        case .ready: return ready
        case .mergePostConfig, .mergeTestConfig, .mergeExtra, .mergePostExtra: return merge(step.group)
        case .targetsPostConfig, .targetsTestConfig, .targetsExtra, .targetsPostExtra: return targets(step.group)
        case .openrc: return "# hvctl: unstack.sh and clean.sh source openrc for the OS_* credentials.\nsource $TOP_DIR/openrc\n"
        }
    }

    static let settings = #"""
        # hvctl: stack.sh up to fetch_plugins, its state only.
        # Needs TOP_DIR, HVCTL_RC_DIR (hvctl's stand-in for TOP_DIR where stackrc looks for
        # localrc and .localrc.auto: hvctl writes nothing into TOP_DIR) and HVCTL_SETTINGS (where
        # to tell hvctl what was decided); HVCTL_VIRT_DRIVER set means --driver, which wins
        # over local.conf.
        unset LANG LANGUAGE
        LC_ALL=en_US.utf8
        export LC_ALL
        for __hvctl_name in $(compgen -e); do
            [[ $__hvctl_name == OS_* ]] && unset "$__hvctl_name"
        done
        unset __hvctl_name
        PATH=$PATH:/usr/local/bin:/usr/local/sbin:/usr/sbin:/sbin
        DEVSTACK_START_TIME=$(date +%s)
        FILES=$TOP_DIR/files
        LAST_SPINNER_PID=""
        source $TOP_DIR/functions

        # inc/async's jobs, as units of their own (hvctl's job server): DevStack's would run in
        # the background of their caller's unit and die with it when the call ends.
        function async_run {
            local name=$1
            shift
            if [[ "$DEVSTACK_PARALLEL" != "True" ]]; then
                echo "[Async ${name}]: Running synchronously: $*"
                $*
                return $?
            fi
            local state="${HVCTL_JOBS_SOCKET%/*}/job-${name}.state"
            # In a subshell: saving unsets what the next call must not see, and this shell goes on.
            # Assigned, not a prefix: unsetting a prefix assignment inside the function uncovers
            # this call's own HVCTL_STATE_OUT, and the job would save its state over its caller's.
            (HVCTL_STATE_OUT=$state; __hvctl_save_state) || return
            "$HVCTL_EXECUTABLE" job start "$name" "$state" -- $*
        }
        function async_runfunc {
            async_run $1 $*
        }
        function async_wait {
            "$HVCTL_EXECUTABLE" job wait "$@"
        }
        function async_cleanup {
            [[ "$DEVSTACK_PARALLEL" != "True" ]] && return 0
            "$HVCTL_EXECUTABLE" job wait --all
        }

        source $TOP_DIR/lib/stack
        GetDistro

        # Phase: local. stackrc sources $RC_DIR/localrc, else $RC_DIR/.localrc.auto; RC_DIR is
        # where the stackrc it sources is, and hvctl's stand-in links TOP_DIR's stackrc.
        extract_localrc_section $TOP_DIR/local.conf $TOP_DIR/localrc $HVCTL_RC_DIR/.localrc.auto
        if [[ -f $TOP_DIR/localrc ]]; then
            printf 'source %q\n' "$TOP_DIR/localrc" >"$HVCTL_RC_DIR/localrc"
        fi
        if [[ -n ${HVCTL_VIRT_DRIVER:-} ]]; then
            if [[ -f $HVCTL_RC_DIR/localrc ]]; then
                printf 'VIRT_DRIVER=%q\n' "$HVCTL_VIRT_DRIVER" >>"$HVCTL_RC_DIR/localrc"
            else
                printf 'VIRT_DRIVER=%q\n' "$HVCTL_VIRT_DRIVER" >>"$HVCTL_RC_DIR/.localrc.auto"
            fi
        fi
        source $HVCTL_RC_DIR/stackrc
        RC_DIR=$TOP_DIR

        export_proxy_variables
        disable_negated_services
        DEST=${DEST:-/opt/stack}
        DATA_DIR=${DATA_DIR:-${DEST}/data}
        VERBOSE=$(trueorfalse True VERBOSE)
        VERBOSE_NO_TIMESTAMP=$(trueorfalse False VERBOSE)
        TIMESTAMP_FORMAT=${TIMESTAMP_FORMAT:-"%F-%H%M%S"}
        LOGDAYS=${LOGDAYS:-7}
        CURRENT_LOG_TIME=$(date "+$TIMESTAMP_FORMAT")
        SSL_BUNDLE_FILE="$DATA_DIR/ca-bundle.pem"
        source $TOP_DIR/lib/database
        source $TOP_DIR/lib/rpc_backend
        source $TOP_DIR/lib/host

        {
            printf '%s\0' "VIRT_DRIVER=$VIRT_DRIVER" "DEST=$DEST" "STACK_USER=$STACK_USER" "ENABLED_SERVICES=$ENABLED_SERVICES"
            for __hvctl_name in ${DEVSTACK_PLUGINS//,/ }; do
                printf 'PLUGIN=%s\037%s\037%s\037%s\0' "$__hvctl_name" "${GITREPO[$__hvctl_name]}" \
                    "${GITBRANCH[$__hvctl_name]}" "${GITDIR[$__hvctl_name]}"
            done
            printf '%s\0' "END=1"
        } >"$HVCTL_SETTINGS"
        unset __hvctl_name
        """# + "\n"

    static let libraries = #"""
        # hvctl: stack.sh's function libraries, sourced after its override_defaults phase.
        source $TOP_DIR/lib/apache
        source $TOP_DIR/lib/tls
        source $TOP_DIR/lib/infra
        source $TOP_DIR/lib/libraries
        source $TOP_DIR/lib/lvm
        source $TOP_DIR/lib/horizon
        source $TOP_DIR/lib/keystone
        source $TOP_DIR/lib/glance
        source $TOP_DIR/lib/nova
        source $TOP_DIR/lib/placement
        source $TOP_DIR/lib/cinder
        source $TOP_DIR/lib/swift
        source $TOP_DIR/lib/neutron
        source $TOP_DIR/lib/ldap
        source $TOP_DIR/lib/dstat
        source $TOP_DIR/lib/atop
        source $TOP_DIR/lib/tcpdump
        source $TOP_DIR/lib/etcd3
        source $TOP_DIR/lib/os-vif

        # hvctl: DevStack's functions are loaded when first called. Parsing all of them (about
        # 600, 350 KB) would be most of what every later call costs; instead each is written to
        # a file of its own, once, and calls start with a one-line stand-in for each that loads
        # the real one the first time it runs. Exported functions stay whole: child shells get
        # them through the environment.
        __hvctl_functions=${HVCTL_JOBS_SOCKET%/*}/function-bodies
        # $1: the function a stand-in stands for. The stand-in may have been copied under
        # another name first (DevStack's `eval "orig_f() $(declare -f f | tail -n +2)"`, to wrap
        # f): then the body is defined under the copy's name, and f is left as it is.
        function __hvctl_load {
            if [[ ${FUNCNAME[1]} == "$1" ]]; then
                source "$__hvctl_functions/$1" || return
            else
                local __hvctl_body
                __hvctl_body=$(<"$__hvctl_functions/$1") || return
                eval "${FUNCNAME[1]} () ${__hvctl_body#*\(\)}"
            fi
            "${FUNCNAME[1]}" "${@:2}"
        }
        # A stand-in passed to a child shell with export -f still finds its body.
        export -f __hvctl_load
        export __hvctl_functions
        function __hvctl_stub_functions {
            local name exported
            exported=" $(declare -Fx | while read -r _ _ name; do printf '%s ' "$name"; done)"
            [[ -d $__hvctl_functions ]] || mkdir -m 0700 "$__hvctl_functions" || return 0
            for name in $(compgen -A function); do
                [[ $name == __hvctl_* || $exported == *" $name "* || -e $__hvctl_functions/$name ]] && continue
                [[ $name =~ ^[A-Za-z0-9_][A-Za-z0-9_:.-]*$ ]] || continue
                declare -f "$name" >"$__hvctl_functions/$name"
                # Two frames more in a call trace, the first time only.
                eval "function $name { __hvctl_load $name \"\$@\"; }"
            done
        }
        __hvctl_stub_functions
        """# + "\n"

    /// stack.sh prompts for these when unset (and writes them into TOP_DIR); hvctl never
    /// prompts: local.conf's value, else a generated one, as stack.sh makes on an empty answer.
    static let ready = #"""
        # hvctl: the end of run_phase source, then stack.sh's passwords, never prompted for.
        verify_disabled_services
        # State stack.sh sets on its way through install_prereqs.sh (which installs packages):
        # the Python DevStack's functions run.
        export PYTHON=$(which python${PYTHON3_VERSION} 2>/dev/null || which python3 2>/dev/null)
        if initialize_database_backends; then
            [[ -n ${DATABASE_PASSWORD:-} ]] || DATABASE_PASSWORD=$(generate_hex_string 10)
            define_database_baseurl
        fi
        if is_service_enabled rabbit; then
            [[ -n ${RABBIT_PASSWORD:-} ]] || RABBIT_PASSWORD=$(generate_hex_string 10)
        fi
        if is_service_enabled keystone; then
            [[ -n ${SERVICE_PASSWORD:-} ]] || SERVICE_PASSWORD=$(generate_hex_string 10)
            [[ -n ${ADMIN_PASSWORD:-} ]] || ADMIN_PASSWORD=$(generate_hex_string 10)
            if is_service_enabled ldap; then
                [[ -n ${LDAP_PASSWORD:-} ]] || LDAP_PASSWORD=$(generate_hex_string 10)
            fi
        fi
        if is_service_enabled s-proxy; then
            [[ -n ${SWIFT_HASH:-} ]] || SWIFT_HASH=$(generate_hex_string 10)
        fi
        # For a root run: the packages DevStack itself would install for the plugins.
        # And NOVA_CONF as lib/nova set it, which a hypervisor script's configure writes.
        if [[ -n ${HVCTL_PACKAGES:-} ]]; then
            get_plugin_packages >"$HVCTL_PACKAGES"
            printf '%s' "${NOVA_CONF:-}" >"${HVCTL_PACKAGES%/*}/nova-conf"
        fi
        # The functions the source phase defined, loaded when first called like the others.
        __hvctl_stub_functions
        """# + "\n"

    /// Every path merge_config_group would write for `group`, NUL-separated, into
    /// $HVCTL_MERGE_TARGETS: the spec expanded as it expands it (`eval echo`), unsplit.
    static func targets(_ group: String) -> String {
        #"""
        # hvctl: the files local.conf's [[\#(group)|FILE]] sections name, for hvctl to check before
        # root merges into them.
        for __hvctl_spec in $(get_meta_section_files $TOP_DIR/local.conf \#(group)); do
            __hvctl_real=$(eval "echo $__hvctl_spec")
            [[ -z $__hvctl_real ]] && break
            # Whole: hvctl refuses one that is not a single plain path (DevStack would split
            # and glob it, and chown the directories of several words to STACK_USER).
            printf '%s\0' "$__hvctl_real"
        done >"$HVCTL_MERGE_TARGETS"
        # Per call: the next call's state must not name this list.
        unset __hvctl_spec __hvctl_real HVCTL_MERGE_TARGETS

        """#
    }

    static func merge(_ group: String) -> String {
        """
        # hvctl: local.conf's [[\(group)|FILE]] sections, merged as stack.sh merges them.
        merge_config_group $TOP_DIR/local.conf \(group)

        """
    }
}

import Core

/// The DevStack functions extras.d hooks expect to find already defined (stack.sh had
/// sourced `functions` before calling them), so real DevStack hooks run unchanged.
public enum DevStackFunctions {
    /// Writes the library into hvctl's runtime directory (RuntimePaths.functionsFile), held
    /// to the trust rule, unless it is there already.
    public static func install(at path: String = RuntimePaths.functionsFile()) throws {
        try RuntimeScript(path: path, text: script).install()
    }

    public static let script = #"""
        # DevStack compatibility functions for extras.d hooks, provided by hvctl.
        # Same names, arguments and results as DevStack's functions-common, inc/ini-config and
        # the is_X_enabled helpers of its lib/* (hvctl's tests run both side by side).

        # _cleanup_service_list LIST: ",," pairs made one, one leading and one trailing comma off.
        function _cleanup_service_list {
            echo "$1" | sed -e 's/,,/,/g; s/^,//; s/,$//'
        }

        # The catch-all services of DevStack's lib/*: "nova" is any n-*, and so on; a service
        # named in DISABLED_SERVICES stays off.
        function is_keystone_enabled {
            [[ ,${DISABLED_SERVICES} =~ ,"keystone" ]] && return 1
            [[ ,${ENABLED_SERVICES}, =~ ,"key", ]]
        }
        function is_nova_enabled {
            [[ ,${DISABLED_SERVICES} =~ ,"nova" ]] && return 1
            [[ ,${ENABLED_SERVICES} =~ ,"n-" ]]
        }
        function is_glance_enabled {
            [[ ,${DISABLED_SERVICES} =~ ,"glance" ]] && return 1
            [[ ,${ENABLED_SERVICES} =~ ,"g-" ]]
        }
        function is_neutron_enabled {
            [[ ,${DISABLED_SERVICES} =~ ,"neutron" ]] && return 1
            [[ ,${ENABLED_SERVICES} =~ ,"neutron-" || ,${ENABLED_SERVICES} =~ ,"q-" ]]
        }
        function is_swift_enabled {
            [[ ,${DISABLED_SERVICES} =~ ,"swift" ]] && return 1
            [[ ,${ENABLED_SERVICES} =~ ,"s-" ]]
        }
        function is_cinder_enabled {
            [[ ,${DISABLED_SERVICES} =~ ,"cinder" ]] && return 1
            [[ ,${ENABLED_SERVICES} =~ ,"c-" ]]
        }
        function is_placement_enabled {
            [[ ,${ENABLED_SERVICES} =~ ,"placement-api" ]]
        }

        # is_service_enabled SERVICE [SERVICE ...]: true when any of them is enabled: named in
        # ENABLED_SERVICES, or its is_SERVICE_enabled says so, or one of DevStack's older
        # catch-alls (n-cpu-*, trove's tr-*, s-* when swift is on) matches.
        function is_service_enabled {
            local enabled=1 services=$@ service
            for service in ${services}; do
                [[ ,${ENABLED_SERVICES}, =~ ,${service}, ]] && enabled=0
                if type is_${service}_enabled >/dev/null 2>&1; then
                    is_${service}_enabled && enabled=0
                fi
                [[ ${service} == n-cpu-* && ,${ENABLED_SERVICES} =~ ,"n-cpu" ]] && enabled=0
                [[ ${service} == "nova" && ,${ENABLED_SERVICES} =~ ,"n-" ]] && enabled=0
                [[ ${service} == "glance" && ,${ENABLED_SERVICES} =~ ,"g-" ]] && enabled=0
                [[ ${service} == "neutron" && ,${ENABLED_SERVICES} =~ ,"q-" ]] && enabled=0
                [[ ${service} == "trove" && ,${ENABLED_SERVICES} =~ ,"tr-" ]] && enabled=0
                [[ ${service} == "swift" && ,${ENABLED_SERVICES} =~ ,"s-" ]] && enabled=0
                [[ ${service} == s-* && ,${ENABLED_SERVICES} =~ ,"swift" ]] && enabled=0
            done
            return $enabled
        }

        # remove_disabled_services LIST REMOVE: LIST without the services in REMOVE.
        function remove_disabled_services {
            local service remove add kept=""
            for service in ${1//,/ }; do
                add=1
                for remove in ${2//,/ }; do
                    if [[ ${remove} == ${service} ]]; then add=0; break; fi
                done
                [[ $add == 1 ]] && kept="${kept},$service"
            done
            _cleanup_service_list "$kept"
        }

        # disable_negated_services: "-svc" in ENABLED_SERVICES takes svc (and itself) out.
        function disable_negated_services {
            local service negated="" rest=""
            for service in ${ENABLED_SERVICES//,/ }; do
                if [[ ${service} == -* ]]; then negated+=",${service#-}"; else rest+=",${service}"; fi
            done
            ENABLED_SERVICES=$(remove_disabled_services "$rest" "$negated")
        }

        # enable_service SERVICE [SERVICE ...]: not one that was disabled (DevStack warns).
        function enable_service {
            local services="${ENABLED_SERVICES}" service
            for service in $@; do
                if [[ ,${DISABLED_SERVICES}, =~ ,${service}, ]]; then
                    warn $LINENO "Attempt to enable_service ${service} when it has been disabled"
                    continue
                fi
                is_service_enabled $service || services+=",$service"
            done
            ENABLED_SERVICES=$(_cleanup_service_list "$services")
            disable_negated_services
        }

        # disable_service SERVICE [SERVICE ...]: off now, and enable_service refuses it later.
        function disable_service {
            local disabled="${DISABLED_SERVICES}" enabled=",${ENABLED_SERVICES}," service
            for service in $@; do
                disabled+=",$service"
                if is_service_enabled $service; then enabled=${enabled//,$service,/,}; fi
            done
            DISABLED_SERVICES=$(_cleanup_service_list "$disabled")
            ENABLED_SERVICES=$(_cleanup_service_list "$enabled")
        }

        # echo_summary MESSAGE: DevStack's progress line (stack.sh's own, on its console).
        function echo_summary {
            echo "$@"
        }

        # backtrace LEVEL: "[Call Trace]", then file:line:function of each caller, outermost
        # first, leaving out the innermost LEVEL frames.
        function backtrace {
            local level=$1 deep=$((${#BASH_SOURCE[@]} - 1))
            echo "[Call Trace]"
            while [ $level -le $deep ]; do
                echo "${BASH_SOURCE[$deep]}:${BASH_LINENO[$deep-1]}:${FUNCNAME[$deep-1]}"
                deep=$((deep - 1))
            done
        }

        # die LINENO MESSAGE: the call trace, an error, and exit with the last status (1 if
        # that was 0).
        function die {
            local exitcode=$?
            set +o xtrace
            local line=$1; shift
            [ $exitcode == 0 ] && exitcode=1
            backtrace 2
            echo "[ERROR] ${BASH_SOURCE[1]}:$line $*" >&2
            exit $exitcode
        }

        # warn LINENO MESSAGE: a warning on stdout; returns the last status.
        function warn {
            local exitcode=$?
            echo "[WARNING] ${BASH_SOURCE[2]}:$1 $2"
            return $exitcode
        }

        # trueorfalse DEFAULT VARNAME: "True" or "False" from a variable's value, else DEFAULT.
        function trueorfalse {
            local default=$1
            [ -z $2 ] && die $LINENO "variable to normalize required"
            local testval=${!2:-}
            case "$testval" in
                "1" | [yY]es | "YES" | [tT]rue | "TRUE") echo "True" ;;
                "0" | [nN]o | "NO" | [fF]alse | "FALSE") echo "False" ;;
                *) echo "$default" ;;
            esac
        }

        # ini_has_option [-sudo] FILE SECTION OPTION
        function ini_has_option {
            [[ "$1" == "-sudo" ]] && shift
            local file=$1 section=$2 option=$3 line
            line=$(sed -ne "/^\[$section\]/,/^\[.*\]/ { /^$option[ \t]*=/ p; }" "$file")
            [ -n "$line" ]
        }

        # iniget FILE SECTION OPTION
        function iniget {
            local file=$1 section=$2 option=$3 line
            line=$(sed -ne "/^\[$section\]/,/^\[.*\]/ { /^$option[ \t]*=/ p; }" "$file")
            echo ${line#*=}
        }

        # iniset [-sudo] FILE SECTION OPTION VALUE: set OPTION in SECTION, adding either when
        # missing; other keys and comments are kept. The value is word-split and joined with
        # single spaces, and & and \ are kept literally, as DevStack's does. (-sudo is
        # accepted; hooks run as root or as their --user.)
        function iniset {
            [[ "$1" == "-sudo" ]] && shift
            local file=$1 section=$2 option=$3 value=$4
            value=$(echo $value | sed -e 's/\\/\\\\/g' -e 's/&/\\&/g')
            [[ -z $section || -z $option ]] && return
            if ! grep -q "^\[$section\]" "$file" 2>/dev/null; then
                echo -e "\n[$section]" >>"$file"
            fi
            if ! ini_has_option "$file" "$section" "$option"; then
                sed -i -e "/^\[$section\]/ a\\
        $option = $value
        " "$file"
            else
                local sep=$'\x01'
                sed -i -e '/^\['${section}'\]/,/^\[.*\]/ s'${sep}'^\('"${option}"'[ \t]*=[ \t]*\).*$'${sep}'\1'"${value}"${sep} "$file"
            fi
        }

        # As stack.sh does once it has its settings: "-svc" entries take svc out.
        disable_negated_services
        """#
}

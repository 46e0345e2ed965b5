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
        # Same names, arguments and results as DevStack's functions-common and inc/ini-config.

        # _cleanup_service_list LIST: drop empty entries from a comma-separated list.
        function _cleanup_service_list {
            echo "$1" | sed -e 's/,,*/,/g; s/^,//; s/,$//'
        }

        # is_service_enabled SERVICE [SERVICE ...]: true when any of them is in ENABLED_SERVICES.
        # As in DevStack, "nova", "glance", "neutron", "swift" and "cinder" also match their
        # abbreviated services (n-*, g-*, q-*/neutron-*, s-*, c-*).
        function is_service_enabled {
            local enabled=1 service
            for service in "$@"; do
                [[ ,${ENABLED_SERVICES}, =~ ,${service}, ]] && enabled=0
                [[ ${service} == "nova" && ,${ENABLED_SERVICES} =~ ,"n-" ]] && enabled=0
                [[ ${service} == "glance" && ,${ENABLED_SERVICES} =~ ,"g-" ]] && enabled=0
                [[ ${service} == "neutron" && ,${ENABLED_SERVICES} =~ ,"q-" ]] && enabled=0
                [[ ${service} == "neutron" && ,${ENABLED_SERVICES} =~ ,"neutron-" ]] && enabled=0
                [[ ${service} == "swift" && ,${ENABLED_SERVICES} =~ ,"s-" ]] && enabled=0
                [[ ${service} == "cinder" && ,${ENABLED_SERVICES} =~ ,"c-" ]] && enabled=0
            done
            return $enabled
        }

        # enable_service SERVICE [SERVICE ...]
        function enable_service {
            local tmpsvcs="${ENABLED_SERVICES}" service
            for service in "$@"; do
                if [[ ,${DISABLED_SERVICES}, =~ ,${service}, ]]; then
                    warn $LINENO "Attempt to enable_service ${service} when it has been disabled"
                    continue
                fi
                if ! is_service_enabled "$service"; then
                    tmpsvcs+=",$service"
                fi
            done
            ENABLED_SERVICES=$(_cleanup_service_list "$tmpsvcs")
            export ENABLED_SERVICES
        }

        # disable_service SERVICE [SERVICE ...]
        function disable_service {
            local svcs=",${ENABLED_SERVICES}," service
            for service in "$@"; do
                DISABLED_SERVICES+=",$service"
                svcs=${svcs//,$service,/,}
            done
            ENABLED_SERVICES=$(_cleanup_service_list "$svcs")
            DISABLED_SERVICES=$(_cleanup_service_list "$DISABLED_SERVICES")
            export ENABLED_SERVICES DISABLED_SERVICES
        }

        # echo_summary MESSAGE: DevStack's progress line.
        function echo_summary {
            echo "$@"
        }

        # die LINENO MESSAGE: print an error and exit with the last status (1 if that was 0).
        function die {
            local exitcode=$?
            set +o xtrace
            local line=$1; shift
            if [ $exitcode == 0 ]; then exitcode=1; fi
            echo "[ERROR] ${BASH_SOURCE[1]}:$line $*" >&2
            exit $exitcode
        }

        # warn LINENO MESSAGE: print a warning; returns the last status.
        function warn {
            local exitcode=$?
            local line=$1; shift
            echo "[WARNING] ${BASH_SOURCE[1]}:$line $*" >&2
            return $exitcode
        }

        # trueorfalse DEFAULT VARNAME: "True" or "False" from a variable's value.
        function trueorfalse {
            local default=$1 testval=${!2:-}
            case "$testval" in
                1|yes|Yes|YES|true|True|TRUE|on|On|ON) echo "True" ;;
                0|no|No|NO|false|False|FALSE|off|Off|OFF) echo "False" ;;
                *) echo "$default" ;;
            esac
        }

        # ini_has_option [-sudo] FILE SECTION OPTION
        function ini_has_option {
            [[ "$1" == "-sudo" ]] && shift
            local file=$1 section=$2 option=$3 line
            line=$(sed -ne "/^\[$section\]/,/^\[.*\]/ { /^$option[ \t]*=/ p; }" "$file" 2>/dev/null)
            [ -n "$line" ]
        }

        # iniget FILE SECTION OPTION
        function iniget {
            local file=$1 section=$2 option=$3 line
            line=$(sed -ne "/^\[$section\]/,/^\[.*\]/ { /^$option[ \t]*=/ p; }" "$file" 2>/dev/null)
            echo ${line#*=}
        }

        # iniset [-sudo] FILE SECTION OPTION VALUE: set OPTION in SECTION, adding either when
        # missing; other keys and comments are kept. (-sudo is accepted; hooks run as root.)
        function iniset {
            [[ "$1" == "-sudo" ]] && shift
            local file=$1 section=$2 option=$3 value=$4
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
        """#
}

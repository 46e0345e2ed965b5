import Foundation
import Hooks
import TestSupport
import Testing

/// hvctl's built-in DevStack functions (what hooks get without a DevStack tree) run side by
/// side with DevStack's own on the same inputs: functions-common and inc/ini-config, with the
/// is_X_enabled helpers of lib/*, and negated services (`-tempest`) removed as stack.sh
/// removes them. Every case must print the same on both sides.
@Suite("hvctl's built-in functions answer as DevStack's own", .enabled(if: DevStackFixture.available, Comment(rawValue: DevStackFixture.skipReason)))
struct BuiltinFunctionsTests {
    struct Case: CustomStringConvertible {
        var enabled: String
        var disabled = ""
        var run: String
        var description: String { "ENABLED_SERVICES=\(enabled) DISABLED_SERVICES=\(disabled): \(run)" }
    }

    static let serviceLists = [
        "", "n-api,g-api", "key,tempest", "tempest,-tempest,key", "q-svc", "neutron-api", "s-proxy", "swift", "c-api,c-vol",
        "placement-api", "n-cpu", "tr-api", "horizon,-horizon", "rabbit,mysql,,tempest",
    ]
    static let services = [
        "nova", "glance", "neutron", "swift", "s-proxy", "cinder", "keystone", "key", "placement", "n-cpu-foo", "trove",
        "tempest", "horizon", "nova glance", "horizon tempest", "rabbit",
    ]

    static var cases: [Case] {
        var cases: [Case] = []
        for list in serviceLists {
            for service in services { cases.append(Case(enabled: list, run: "is_service_enabled \(service)")) }
            for disabled in ["nova", "keystone", "glance,swift"] {
                cases.append(Case(enabled: list, disabled: disabled, run: "is_service_enabled \(disabled.split(separator: ",").joined(separator: " "))"))
            }
            cases.append(Case(enabled: list, run: "enable_service tempest n-cpu; echo \"$ENABLED_SERVICES\""))
            cases.append(Case(enabled: list, run: "disable_service tempest swift; echo \"$ENABLED_SERVICES|$DISABLED_SERVICES\""))
            cases.append(Case(enabled: list, run: "disable_service key; enable_service key; echo \"$ENABLED_SERVICES|$DISABLED_SERVICES\""))
        }
        for input in [",a,,b,", "a,,,b", ",,", "a", ""] {
            cases.append(Case(enabled: "", run: "_cleanup_service_list '\(input)'"))
        }
        for value in ["1", "0", "yes", "Yes", "YES", "yEs", "no", "No", "NO", "true", "True", "TRUE", "tRUE", "false", "False", "FALSE", "on", "On", "off", "", "maybe"] {
            cases.append(Case(enabled: "", run: "V='\(value)'; trueorfalse Default V; trueorfalse False V"))
        }
        cases.append(Case(enabled: "", run: "unset U; trueorfalse True U"))
        cases.append(Case(enabled: "", run: "(exit 3); warn 42 \"a warning\" \"and more\"; echo \"status $?\""))
        cases.append(Case(enabled: "", run: "(die 7 \"it broke\"); echo \"status $?\""))
        cases.append(Case(enabled: "", run: "(false; die 7 \"it broke\"); echo \"status $?\""))
        let ini = #"f=$(mktemp); printf '[DEFAULT]\n# a comment\ndebug = False\n\n[libvirt]\nvirt_type = kvm\n' >"$f"; "#
        for body in [
            #"iniset "$f" DEFAULT debug True"#, #"iniset "$f" libvirt cpu_mode host-passthrough"#, #"iniset "$f" new_section key value"#,
            #"iniset "$f" DEFAULT transport_url 'rabbit://u:p@h:5672/?a=1&b=2'"#, #"iniset "$f" DEFAULT path 'C:\dir\file'"#,
            #"iniset "$f" DEFAULT spaced 'a   b  c'"#, #"iniset "$f" '' key value"#, #"iniset -sudo "$f" DEFAULT debug True"#,
            #"iniset "$f" DEFAULT debug True; iniset "$f" DEFAULT debug False"#,
        ] {
            cases.append(Case(enabled: "", run: ini + body + #"; cat "$f"; rm -f "$f""#))
        }
        for body in [
            #"iniget "$f" DEFAULT debug"#, #"iniget "$f" libvirt virt_type"#, #"iniget "$f" libvirt missing"#, #"iniget "$f" nosection debug"#,
            #"ini_has_option "$f" DEFAULT debug; echo $?; ini_has_option "$f" DEFAULT nope; echo $?; ini_has_option -sudo "$f" libvirt virt_type; echo $?"#,
        ] {
            cases.append(Case(enabled: "", run: ini + body + #"; rm -f "$f""#))
        }
        return cases
    }

    /// One bash over every case: `== N`, then what the case printed and its status.
    func outputs(prelude: String, perCase: String) throws -> [String] {
        var script = prelude + "\n"
        for (i, c) in Self.cases.enumerated() {
            script += """
                echo "== \(i)"
                (
                    export ENABLED_SERVICES='\(c.enabled)' DISABLED_SERVICES='\(c.disabled)'
                    \(perCase)
                    \(c.run)
                    echo "rc=$?"
                ) 2>/dev/null

                """
        }
        let out = try Witness.run(["/bin/bash", "-c", script])
        // A warning names the line it was raised on: in functions-common on one side, in
        // hvctl's file on the other.
        let line = try Regex(#"\[WARNING\] ([^:\n]*):[0-9]+ "#)
        return out.stdout.components(separatedBy: "== ").dropFirst().map {
            String($0.drop(while: { $0 != "\n" }).dropFirst()).replacing(line) { "[WARNING] \($0.output[1].substring ?? ""):LINE " }
        }
    }

    @Test("is_service_enabled, enable_service, disable_service, _cleanup_service_list, trueorfalse, warn, die, iniset, iniget, ini_has_option")
    func sideBySide() throws {
        let tree = try #require(DevStackFixture.snapshot("devstack"))
        let dir = "/tmp/" + uniqueName("hvctl-functions")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ours = dir + "/hvctl-functions.sh"
        try DevStackFunctions.script.write(toFile: ours, atomically: true, encoding: .utf8)
        // The lib/* helpers is_service_enabled consults, taken out of their files as they are.
        var helpers = ""
        for (file, function) in [
            ("keystone", "is_keystone_enabled"), ("nova", "is_nova_enabled"), ("neutron", "is_neutron_enabled"),
            ("glance", "is_glance_enabled"), ("swift", "is_swift_enabled"), ("placement", "is_placement_enabled"),
            ("cinder", "is_cinder_enabled"),
        ] {
            let text = try String(contentsOfFile: tree + "/lib/" + file, encoding: .utf8)
            let start = try #require(text.range(of: "function \(function) {"))
            let end = try #require(text.range(of: "\n}\n", range: start.upperBound..<text.endIndex))
            helpers += String(text[start.lowerBound..<end.upperBound])
        }
        try helpers.write(toFile: dir + "/helpers.sh", atomically: true, encoding: .utf8)

        let devstack = try outputs(
            prelude: "source \(tree)/functions-common; source \(tree)/inc/ini-config; source \(dir)/helpers.sh; sudo() { \"$@\"; }",
            perCase: "disable_negated_services")
        let hvctl = try outputs(prelude: "sudo() { \"$@\"; }", perCase: "source \(ours)")
        try #require(devstack.count == Self.cases.count && hvctl.count == Self.cases.count, "every case ran on both sides")
        for (i, c) in Self.cases.enumerated() where devstack[i] != hvctl[i] {
            Issue.record("\(c)\n  DevStack: \(devstack[i].debugDescription)\n  hvctl:    \(hvctl[i].debugDescription)")
        }
    }
}

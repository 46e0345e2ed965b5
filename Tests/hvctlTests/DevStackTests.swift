import Foundation
import TestSupport
import Testing

/// Records what a hook sees in each call, into $OUT/calls, and in post-config what the
/// install call left behind.
let probeHook = #"""
    echo "$* VIRT_DRIVER=$VIRT_DRIVER" >>"$OUT/calls"
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        PROBE_FROM_INSTALL=seen-in-install
        export PROBE_EXPORTED=exported-in-install
        probe_function() { echo "probe function defined in install"; }
    fi
    if [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        {
            echo "PROBE_FROM_INSTALL=${PROBE_FROM_INSTALL:-unset}"
            echo "PROBE_EXPORTED=$(bash -c 'echo ${PROBE_EXPORTED:-unset}')"
            if type -t probe_function >/dev/null; then probe_function; else echo "probe function missing"; fi
            echo "DEST=$DEST STACK_USER=$STACK_USER DISTRO=$DISTRO"
            for f in git_clone pip_install install_package is_ubuntu setup_develop get_or_create_project stop_process; do
                echo "$f=$(type -t $f)"
            done
            echo "merged-yet=$(grep -c '^debug' "${HVCTL_TEST_CONF:-/nonexistent}" 2>/dev/null || echo 0)"
        } >"$OUT/post-config"
    fi
    """#

@Suite(
    "DevStack mode: real DevStack's environment, local.conf and plugins (test host)", .serialized,
    .enabled(if: DevStackFixture.available, Comment(rawValue: DevStackFixture.skipReason)))
struct DevStackTests {
    func hvctl(_ f: DevStackFixture, _ args: [String], env: [String: String] = [:]) throws -> Witness.Output {
        try Witness.run([hvctlBinary] + args + ["--top-dir", f.top, "--env", "OUT=\(f.out)"], environment: f.env.merging(env) { $1 })
    }

    func topDirListing(_ f: DevStackFixture) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: f.top).sorted()
    }

    @Test("stack: a hook's variables, exports and functions from install are seen in post-config; DevStack's own are there; nothing is written into TOP_DIR")
    func stateCarries() throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        try f.addHook("50-probe.sh", probeHook)
        let before = try topDirListing(f)
        // VIRT_DRIVER in local.conf wins over the environment's, as in DevStack.
        let out = try hvctl(f, ["stack"], env: ["VIRT_DRIVER": "libvirt"])
        #expect(out.status == 0, "\(out.stdout)\n\(out.stderr)")
        let seen = f.read("post-config")
        #expect(seen.contains("PROBE_FROM_INSTALL=seen-in-install"), "\(seen)")
        #expect(seen.contains("PROBE_EXPORTED=exported-in-install"), "\(seen)")
        #expect(seen.contains("probe function defined in install"), "\(seen)")
        #expect(seen.contains("DEST=\(f.dest) STACK_USER=stack DISTRO=bookworm"), "\(seen)")
        for function in ["git_clone", "pip_install", "install_package", "is_ubuntu", "setup_develop", "get_or_create_project", "stop_process"] {
            #expect(seen.contains("\(function)=function"), "\(function) missing: \(seen)")
        }
        let calls = f.read("calls").split(separator: "\n").map(String.init)
        #expect(calls == [
            "override_defaults VIRT_DRIVER=fake", "source VIRT_DRIVER=fake", "stack pre-install VIRT_DRIVER=fake",
            "stack install VIRT_DRIVER=fake", "stack post-config VIRT_DRIVER=fake", "stack extra VIRT_DRIVER=fake",
            "stack test-config VIRT_DRIVER=fake",
        ])
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: f.state + "/state.json"))) as? [String: Any]
        #expect(state?["activeDriver"] as? String == "fake")
        #expect(try topDirListing(f) == before, "hvctl leaves no .localrc.auto, .stackenv or password file in TOP_DIR")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: f.runtime + "/shell")) ?? []).isEmpty, "the run's shell state is removed")
    }

    @Test("--driver wins over local.conf, local.conf over $VIRT_DRIVER")
    func driverPrecedence() throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        try f.addHook("50-probe.sh", probeHook)
        #expect(try hvctl(f, ["hooks", "run", "stack", "install", "--driver", "docker"], env: ["VIRT_DRIVER": "libvirt"]).status == 0)
        #expect(try hvctl(f, ["hooks", "run", "stack", "install"], env: ["VIRT_DRIVER": "libvirt"]).status == 0)
        let calls = f.read("calls").split(separator: "\n").filter { $0.hasPrefix("stack install") }
        #expect(calls == ["stack install VIRT_DRIVER=docker", "stack install VIRT_DRIVER=fake"])
    }

    @Test("local.conf's [[post-config|FILE]] is merged into FILE after the post-config hooks")
    func postConfigMerged() throws {
        let f = try DevStackFixture(
            localrc: ["VIRT_DRIVER=fake", "disable_service tempest", "HVCTL_TEST_CONF=$DEST/etc/test.conf"],
            meta: "[[post-config|$HVCTL_TEST_CONF]]\n[DEFAULT]\ndebug = True\n[compute]\ncpu_mode = host\n")
        defer { f.remove() }
        try f.addHook("50-probe.sh", probeHook)
        let out = try hvctl(f, ["hooks", "run", "stack", "post-config"])
        #expect(out.status == 0, "\(out.stdout)\n\(out.stderr)")
        #expect(f.read("post-config").contains("merged-yet=0"), "the hooks run before the merge")
        let merged = (try? String(contentsOfFile: f.dest + "/etc/test.conf", encoding: .utf8)) ?? ""
        #expect(merged.contains("[DEFAULT]") && merged.contains("debug = True"), "\(merged)")
        #expect(merged.contains("[compute]") && merged.contains("cpu_mode = host"), "\(merged)")
        #expect(out.stdout.contains("devstack:merge-post-config"))
    }

    @Test("unstack and clean: the source phase, then their own call; clean builds a fresh environment after unstack")
    func unstackAndClean() throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        try f.addHook("50-probe.sh", probeHook)
        #expect(try hvctl(f, ["stack"]).status == 0)
        try? FileManager.default.removeItem(atPath: f.out + "/calls")
        let out = try hvctl(f, ["clean"])
        #expect(out.status == 0, "\(out.stdout)\n\(out.stderr)")
        let calls = f.read("calls").split(separator: "\n").map { $0.replacingOccurrences(of: " VIRT_DRIVER=fake", with: "") }
        #expect(calls == ["override_defaults", "source", "unstack", "override_defaults", "source", "clean"])
        #expect(out.stdout.components(separatedBy: "devstack:settings").count - 1 == 2, "two environments: \(out.stdout)")
    }
}

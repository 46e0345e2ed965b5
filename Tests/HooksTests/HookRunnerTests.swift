import Foundation
import Hooks
import Systemd
import TestSupport
import Testing

@Suite("Running hooks as transient units (real systemd)")
struct HookRunnerTests {
    /// Records every call a hook gets, with what it saw.
    static let recorder = #"""
        echo "$(basename "$HVCTL_HOOK") $* | VIRT_DRIVER=$VIRT_DRIVER TOP_DIR=$TOP_DIR MODE=$HVCTL_MODE PHASE=$HVCTL_PHASE HOOK=$HVCTL_HOOK RUN=$HVCTL_RUN EXTRA=${EXTRA:-} PWD=$PWD" >>"$OUT/calls"
        """#

    @Test("each call is preceded by the hook's source phase, in hook order, with DevStack's arguments and hvctl's environment")
    func phasesAndEnvironment() async throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-b.sh", Self.recorder)
        try f.add("10-a.sh", Self.recorder)
        var o = f.options(driver: "docker")
        o.environment["EXTRA"] = "x y"
        let report = try await f.run(.stack(.postConfig), o)
        #expect(report.succeeded)
        let r = o.run.value
        let common = "VIRT_DRIVER=docker TOP_DIR=\(f.top) MODE=stack PHASE=post-config"
        #expect(f.read("calls")?.split(separator: "\n").map(String.init) == [
            "10-a.sh source | \(common) HOOK=10-a.sh RUN=\(r) EXTRA=x y PWD=\(f.top)",
            "10-a.sh stack post-config | \(common) HOOK=10-a.sh RUN=\(r) EXTRA=x y PWD=\(f.top)",
            "20-b.sh source | \(common) HOOK=20-b.sh RUN=\(r) EXTRA=x y PWD=\(f.top)",
            "20-b.sh stack post-config | \(common) HOOK=20-b.sh RUN=\(r) EXTRA=x y PWD=\(f.top)",
        ])
        #expect(report.hooks.map(\.unit) == ["hvctl-\(r)-post-config-10-a.service", "hvctl-\(r)-post-config-20-b.service"])
        #expect(try loadedUnits(of: o.run).isEmpty)
    }

    @Test("errexit in stack only: a failing command ends the hook in stack, not in unstack")
    func errexit() async throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-x.sh", #"[[ "$1" == source ]] && return 0; false; echo "after false in $1" >>"$OUT/log""#)
        let stack = try await f.run(.stack(.install))
        #expect(stack.hooks.first?.result == "exit-code")
        #expect(stack.hooks.first?.exitStatus == 1)
        #expect(f.read("log") == nil)
        let unstack = try await f.run(.unstack)
        #expect(unstack.succeeded)
        #expect(f.read("log") == "after false in unstack\n")
    }

    @Test("a failing hook stops stack, but unstack and clean run every hook and report the failure")
    func failurePolicy() async throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("10-ok.sh", #"[[ "$1" != source ]] && echo "10 $1" >>"$OUT/ran"; true"#)
        try f.add("20-fails.sh", #"[[ "$1" == source ]] && return 0; echo "20 $1" >>"$OUT/ran"; echo "20 says why"; exit 4"#)
        try f.add("30-ok.sh", #"[[ "$1" != source ]] && echo "30 $1" >>"$OUT/ran"; true"#)

        let o = f.options()
        let stack = try await f.run(.stack(.extra), o)
        #expect(!stack.succeeded)
        #expect(stack.hooks.map(\.hook) == ["10-ok.sh", "20-fails.sh"])
        #expect(stack.hooks[1].exitStatus == 4)
        #expect(stack.hooks[1].lastLines == ["20 says why"])
        #expect(f.read("ran") == "10 stack\n20 stack\n")
        #expect(try loadedUnits(of: o.run).isEmpty)

        for call in [HookCall.unstack, .clean] {
            try? FileManager.default.removeItem(atPath: f.out + "/ran")
            let o = f.options()
            let report = try await f.run(call, o)
            #expect(!report.succeeded)
            #expect(report.hooks.map(\.succeeded) == [true, false, true])
            #expect(f.read("ran") == "10 \(call.mode)\n20 \(call.mode)\n30 \(call.mode)\n")
            #expect(try loadedUnits(of: o.run).isEmpty)
        }
    }

    @Test("a hook past its timeout is killed together with its children")
    func timeoutKillsChildren() async throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-slow.sh", #"[[ "$1" == source ]] && return 0; sleep 300 & echo $! >"$OUT/child"; sleep 300"#)
        let o = f.options(timeout: .seconds(1))
        let start = ContinuousClock.now
        let report = try await f.run(.stack(.install), o)
        #expect(report.hooks.first?.result == "timeout")
        #expect(ContinuousClock.now - start < .seconds(30))
        let child = try #require(f.read("child")?.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(child)"), "the hook's child \(child) survived")
        #expect(try loadedUnits(of: o.run).isEmpty)
    }

    @Test("a DevStack-style hook using is_service_enabled, iniset and a lib/ from TOP_DIR runs unchanged")
    func devstackHook() async throws {
        let f = try HookFixture()
        defer { f.remove() }
        try FileManager.default.createDirectory(atPath: f.top + "/lib", withIntermediateDirectories: true)
        chmod(f.top + "/lib", 0o755)
        try f.add("myplugin", #"""
            MYPLUGIN_CONF=$OUT/myplugin.conf
            function install_myplugin {
                echo_summary "Installing MyPlugin"
                touch $MYPLUGIN_CONF
            }
            function configure_myplugin {
                iniset $MYPLUGIN_CONF DEFAULT debug True
                iniset $MYPLUGIN_CONF database connection "mysql+pymysql://root:secret@127.0.0.1/myplugin?charset=utf8"
                iniset $MYPLUGIN_CONF DEFAULT debug False
                iniset -sudo $MYPLUGIN_CONF compute driver $VIRT_DRIVER
            }
            """#, in: f.top + "/lib")
        try f.add("50-myplugin.sh", #"""
            # myplugin.sh - DevStack extras.d dispatch script
            if is_service_enabled myplugin; then
                if [[ "$1" == "source" ]]; then
                    source $TOP_DIR/lib/myplugin
                elif [[ "$1" == "stack" && "$2" == "install" ]]; then
                    install_myplugin
                elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
                    configure_myplugin
                    echo "debug=$(iniget $MYPLUGIN_CONF DEFAULT debug)" >>$OUT/seen
                fi
                if [[ "$1" == "unstack" ]]; then
                    rm -f $MYPLUGIN_CONF
                fi
            fi
            if is_service_enabled nova glance; then
                echo "nova or glance" >>$OUT/seen
            fi
            """#)
        var o = f.options(driver: "libvirt")
        o.environment["ENABLED_SERVICES"] = "key,myplugin,n-cpu"
        #expect(try await f.run(.stack(.install), o).succeeded)
        #expect(try await f.run(.stack(.postConfig), o).succeeded)
        let conf = try String(contentsOfFile: f.out + "/myplugin.conf", encoding: .utf8)
        #expect(conf.contains("[DEFAULT]\ndebug = False\n"))
        #expect(conf.contains("[database]\nconnection = mysql+pymysql://root:secret@127.0.0.1/myplugin?charset=utf8\n"))
        #expect(conf.contains("[compute]\ndriver = libvirt\n"))
        #expect(f.read("seen")?.contains("debug=False") == true)
        #expect(f.read("seen")?.contains("nova or glance") == true)

        // Not enabled: the hook does nothing, and still succeeds.
        o.environment["ENABLED_SERVICES"] = "key"
        #expect(try await f.run(.unstack, o).succeeded)
        #expect(FileManager.default.fileExists(atPath: f.out + "/myplugin.conf"))
    }

    @Test("a hook whose unit name would pass systemd's limit is refused before any hook runs")
    func overlongName() async throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("10-first.sh", #"echo ran >>"$OUT/first""#)
        try f.add("20-" + String(repeating: "n", count: 230) + ".sh", "true\n")
        await #expect(throws: HookError.self) { try await f.run(.stack(.install)) }
        #expect(f.read("first") == nil)
    }
}

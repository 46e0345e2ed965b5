import Foundation
import TestSupport
import Testing

/// A hook that records every call: "<args> VIRT_DRIVER=<driver>".
let recordingHook = #"echo "$* VIRT_DRIVER=$VIRT_DRIVER" >>"$OUT/calls""#

@Suite("hvctl stack / unstack / clean / switch (test host)", .serialized)
struct FlowCommandTests {
    init() {
        ensureDockerRunning()
        ensureLibvirtRunning()
    }

    /// hvctl of `f`'s own, running the hooks in `f`'s extras.d, which write into `f.out`.
    func hvctl(_ f: HookFixture, _ args: [String]) throws -> Witness.Output {
        try HvctlHost(top: f.top).hvctl(args + ["--env", "OUT=\(f.out)"], environment: ["HVCTL_EXTRAS_DIR": f.extras])
    }

    func state(_ f: HookFixture) throws -> [String: Any] { try HvctlHost(top: f.top).stateFile() }

    @Test("a full stack, unstack and clean cycle runs every phase in DevStack's order")
    func cycle() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-rec.sh", recordingHook)
        #expect(try hvctl(f, ["stack", "fake"]).status == 0)
        #expect(try state(f)["activeDriver"] as? String == "fake")
        #expect(try hvctl(f, ["clean", "fake"]).status == 0)
        let calls = f.read("calls")?.split(separator: "\n").map { String($0) } ?? []
        let phases = calls.filter { !$0.hasPrefix("source") }.map { $0.replacingOccurrences(of: " VIRT_DRIVER=fake", with: "") }
        #expect(phases == [
            "stack pre-install", "stack install", "stack post-config", "stack extra", "stack test-config", "unstack", "clean",
        ])
        #expect(calls.filter { $0.hasPrefix("source") }.count == 7)  // before every call
        #expect(try HvctlHost(top: f.top).fakeVerbs() == ["install", "configure", "start", "stop", "cleanup"])
        let runs = try state(f)["runs"] as? [[String: Any]] ?? []
        #expect(runs.map { $0["flow"] as? String } == ["stack", "clean"])
        #expect(runs.allSatisfy { $0["succeeded"] as? Bool == true })
        #expect(try state(f)["activeDriver"] == nil, "after clean no driver is active")
    }

    @Test("switch docker → libvirt → fake → docker: each driver's hooks see their own VIRT_DRIVER")
    func switching() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-rec.sh", recordingHook)
        #expect(try hvctl(f, ["stack", "docker"]).status == 0)
        for to in ["libvirt", "fake", "docker"] {
            let out = try hvctl(f, ["switch", to])
            #expect(out.status == 0, "\(to): \(out.stderr)")
            #expect(try state(f)["activeDriver"] as? String == to)
        }
        let calls = (f.read("calls") ?? "").split(separator: "\n").filter { !$0.hasPrefix("source") }.map(String.init)
        #expect(calls.filter { $0.hasPrefix("unstack") } == ["unstack VIRT_DRIVER=docker", "unstack VIRT_DRIVER=libvirt", "unstack VIRT_DRIVER=fake"])
        #expect(calls.filter { $0.hasPrefix("stack extra") } == [
            "stack extra VIRT_DRIVER=docker", "stack extra VIRT_DRIVER=libvirt", "stack extra VIRT_DRIVER=fake", "stack extra VIRT_DRIVER=docker",
        ])
    }

    @Test("a switch whose new driver fails in stack extra rolls back to the old driver, running and active")
    func rollback() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-rec.sh", recordingHook)
        try f.add("30-breaks-fake.sh", #"[[ "$1 $2 $VIRT_DRIVER" == "stack extra fake" ]] && { echo "fake is broken here"; exit 7; }; true"#)
        #expect(try hvctl(f, ["stack", "docker"]).status == 0)
        let out = try hvctl(f, ["switch", "fake"])
        #expect(out.status != 0)
        #expect(out.stderr.contains("switch to fake failed at 'hooks stack extra'"), "\(out.stderr)")
        #expect(out.stderr.contains("rolled back: docker is running and active again"))
        #expect(try state(f)["activeDriver"] as? String == "docker")
        #expect(try dockerUp())
        let calls = (f.read("calls") ?? "").split(separator: "\n").filter { !$0.hasPrefix("source") }.map(String.init)
        #expect(calls.suffix(2) == ["stack extra VIRT_DRIVER=docker", "stack test-config VIRT_DRIVER=docker"])
    }

    @Test("two concurrent stacks never interleave; --no-wait fails at once")
    func locking() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-slow.sh", #"[[ "$1 $2" == "stack extra" ]] || return 0; echo "begin $HVCTL_RUN" >>"$OUT/order"; sleep 1; echo "end $HVCTL_RUN" >>"$OUT/order""#)
        let h = HvctlHost(top: f.top)
        let procs = try (0..<2).map { _ in
            try h.spawn(["stack", "fake", "--env", "OUT=\(f.out)"], environment: ["HVCTL_EXTRAS_DIR": f.extras])
        }
        usleep(300_000)
        let busy = try hvctl(f, ["stack", "fake", "--no-wait"])
        for p in procs { p.waitUntilExit() }
        #expect(procs.allSatisfy { $0.terminationStatus == 0 })
        #expect(busy.status != 0)
        #expect(busy.stderr.contains("another hvctl command"), "\(busy.stderr)")
        #expect(FileManager.default.fileExists(atPath: h.lock), "the lock is this host's, not /run/hvctl's")
        let order = (f.read("order") ?? "").split(separator: "\n").map { $0.split(separator: " ") }
        #expect(order.count == 4)
        if order.count == 4 {
            #expect(order[0][0] == "begin" && order[1][0] == "end" && order[0][1] == order[1][1])
            #expect(order[2][0] == "begin" && order[3][0] == "end" && order[2][1] == order[3][1])
        }
    }

    @Test("make install puts hvctl and its units in place; systemctl start hvctl@docker brings Docker up through hvctl")
    func unitsThroughSystemd() throws {
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let install = try Witness.run(["make", "-C", checkout, "install", "CONFIG=debug"])
        #expect(install.status == 0, "\(install.stderr)")
        // Gone afterwards: units in /usr/local would shadow the Debian package's in later tests.
        defer {
            _ = try? Witness.run(["make", "-C", checkout, "uninstall"])
            _ = try? Witness.run(["systemctl", "daemon-reload"])
        }
        for file in [
            "/usr/local/share/man/man1/hvctl.1.gz", "/usr/local/share/man/man1/hvctl-stack.1.gz",
            "/usr/local/share/zsh/site-functions/_hvctl", "/usr/local/share/fish/vendor_completions.d/hvctl.fish",
        ] {
            #expect(FileManager.default.fileExists(atPath: file), "make install did not install \(file)")
        }
        #expect(FileManager.default.isExecutableFile(atPath: "/usr/local/bin/hvctl"))
        #expect(try String(contentsOfFile: "/usr/local/lib/systemd/system/hvctl@.service", encoding: .utf8).contains("ExecStart=/usr/local/bin/hvctl start %i"))
        #expect(FileManager.default.fileExists(atPath: "/usr/local/share/bash-completion/completions/hvctl"))
        #expect(try Witness.unitProperty("hvctl-cleanup.service", "LoadState") == "loaded")

        try Witness.run(["systemctl", "stop", "docker.socket", "docker.service"])
        defer {
            _ = try? Witness.run(["systemctl", "stop", "hvctl@docker.service"])
            ensureDockerRunning()
        }
        let start = try Witness.run(["systemctl", "start", "hvctl@docker.service"])
        #expect(start.status == 0, "\(start.stderr)")
        #expect(try Witness.unitProperty("hvctl@docker.service", "ActiveState") == "active")
        #expect(try dockerUp())
        let journal = try Witness.run(["journalctl", "-u", "hvctl@docker.service", "-o", "cat"]).stdout
        #expect(journal.contains("docker started in"), "\(journal)")

        #expect(try Witness.run(["systemctl", "stop", "hvctl@docker.service"]).status == 0)
        #expect(try !dockerUp(), "hvctl started Docker, so stopping hvctl@docker stops it")
    }

    @Test("hvctl stop runs the unstack flow of the active driver: its unstack hooks, then its stop verb")
    func stopIsUnstack() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-rec.sh", recordingHook)
        #expect(try hvctl(f, ["start", "fake"]).status == 0)
        let stop = try hvctl(f, ["stop"])
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stdout.contains("fake: stopped 0 instances and the daemon"))
        let calls = (f.read("calls") ?? "").split(separator: "\n").filter { !$0.hasPrefix("source") }.map(String.init)
        #expect(calls.last == "unstack VIRT_DRIVER=fake")
        #expect(try state(f)["activeDriver"] == nil)
    }

    @Test("--dry-run prints each step and hook unit, and runs nothing")
    func dryRun() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-rec.sh", recordingHook)
        let out = try hvctl(f, ["stack", "fake", "--dry-run"])
        #expect(out.status == 0)
        let lines = out.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "hooks stack pre-install")
        #expect(lines.contains("start"))
        #expect(lines.filter { $0.hasPrefix("  unit hvctl-") }.count == 5)
        #expect(f.read("calls") == nil)
        #expect(!FileManager.default.fileExists(atPath: HvctlHost(top: f.top).state + "/state.json"))
    }
}

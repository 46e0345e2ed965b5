import Foundation
import Hooks
import TestSupport
import Testing

@Suite("hvctl hooks (the built binary, in the test host)", .serialized)
struct HooksCommandTests {
    @Test("list shows hooks in order and ignored files with reasons; -o json for scripts")
    func list() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-b.sh", "true\n")
        try f.add("10-a.sh", "true\n")
        try f.add("notes.txt", "x\n")
        let text = try Witness.run([hvctlBinary, "hooks", "list", "--extras-dir", f.extras])
        #expect(text.status == 0)
        #expect(text.stdout.contains("  10-a.sh\n  20-b.sh\n  ignored: notes.txt (does not end in .sh)"))
        let json = try Witness.run([hvctlBinary, "hooks", "list", "-o", "json"], environment: ["HVCTL_EXTRAS_DIR": f.extras])
        let contents = try JSONDecoder().decode(ExtrasDirectory.Contents.self, from: Data(json.stdout.utf8))
        #expect(contents.hooks.map(\.file) == ["10-a.sh", "20-b.sh"])
    }

    @Test("run prints one line per hook, and for a failure its exit code, last lines and where the rest is")
    func runOutput() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("10-ok.sh", "true\n")
        try f.add("20-bad.sh", #"[[ "$1" == source ]] && return 0; for i in $(seq 1 30); do echo "out $i"; done; exit 5"#)
        let out = try Witness.run([hvctlBinary, "hooks", "run", "stack", "install", "--extras-dir", f.extras, "--driver", "fake"])
        #expect(out.status == 1)
        let lines = out.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("ok    10-ok.sh  stack install") == true)
        #expect(lines.contains { $0.hasPrefix("FAIL  20-bad.sh  stack install  exit 5") })
        #expect(lines.contains("      last 20 lines:"))
        #expect(lines.contains("      | out 11") && lines.contains("      | out 30") && !lines.contains("      | out 10"))
        #expect(lines.contains { $0.hasPrefix("      all of it: journalctl -u hvctl-") && $0.hasSuffix("-install-20-bad.service") })
        #expect(out.stderr == "hvctl: stack install failed: 20-bad.sh\n")
    }

    @Test("hooks see VIRT_DRIVER from --driver, else the environment, else the active driver, else libvirt")
    func driverForHooks() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-d.sh", #"[[ "$1" == source ]] || echo "$VIRT_DRIVER" >>"$OUT/driver""#)
        try FileManager.default.createDirectory(atPath: f.top + "/state", withIntermediateDirectories: true)
        let noState = ["HVCTL_STATE_DIR": f.top + "/state"]
        let base = [hvctlBinary, "hooks", "run", "unstack", "--extras-dir", f.extras, "--env", "OUT=\(f.out)"]
        try Witness.run(base, environment: noState)
        try #"{"activeDriver": "docker", "drivers": {}, "version": 1}"#.write(toFile: f.top + "/state/state.json", atomically: true, encoding: .utf8)
        try Witness.run(base, environment: noState)
        try Witness.run(base, environment: noState.merging(["VIRT_DRIVER": "fake"]) { $1 })
        try Witness.run(base + ["--driver", "libvirt"], environment: noState.merging(["VIRT_DRIVER": "fake"]) { $1 })
        #expect(f.read("driver") == "libvirt\ndocker\nfake\nlibvirt\n")
    }

    @Test("--dry-run lists the units in order and starts none")
    func dryRun() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-b.sh", #"echo ran >>"$OUT/ran""#)
        try f.add("10-a.sh", #"echo ran >>"$OUT/ran""#)
        let out = try Witness.run([hvctlBinary, "hooks", "run", "clean", "--extras-dir", f.extras, "--env", "OUT=\(f.out)", "--dry-run"])
        #expect(out.status == 0)
        let units = out.stdout.split(separator: "\n").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(units.count == 2)
        #expect(units[0].hasSuffix("-clean-10-a.service") && units[1].hasSuffix("-clean-20-b.service"))
        #expect(f.read("ran") == nil)
    }

    @Test("SIGTERM to hvctl stops the running hook's unit before hvctl exits")
    func sigterm() async throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-sleeper.sh", #"[[ "$1" == source ]] && return 0; echo $$ >"$OUT/pid"; exec sleep 300"#)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: hvctlBinary)
        process.arguments = ["hooks", "run", "stack", "extra", "--extras-dir", f.extras, "--env", "OUT=\(f.out)"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let pid = try await eventually(timeout: .seconds(20)) { f.read("pid")?.trimmingCharacters(in: .whitespacesAndNewlines) }
        let hookPID = try #require(pid, "the hook never started")
        process.terminate()  // SIGTERM
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(hookPID)"), "the hook kept running")
        let left = try Witness.run(["systemctl", "list-units", "--all", "--no-legend", "--plain", "hvctl-*-extra-20-sleeper.service"]).trimmed
        #expect(left.isEmpty, "\(left)")
    }

    @Test("bad input is one line and a non-zero exit", arguments: [
        (["hooks", "run", "stack"], "is not a hook call"),
        (["hooks", "run", "stack", "boot"], "'stack boot' is not a hook call"),
        (["hooks", "run", "unstack", "--env", "1BAD=x"], "invalid --env '1BAD=x'"),
        (["hooks", "run", "unstack", "--env", "NOEQUALS"], "invalid --env 'NOEQUALS'"),
        (["hooks", "run", "unstack", "--hook-timeout", "0"], "invalid --hook-timeout '0'"),
        (["hooks", "run", "unstack", "--driver", "xen"], "unknown driver 'xen'"),
        (["hooks", "list", "--extras-dir", "/nonexistent/extras.d"], "/nonexistent/extras.d does not exist"),
    ])
    func badInput(arguments: [String], message: String) throws {
        let f = try HookFixture()
        defer { f.remove() }
        var args = arguments
        if !args.contains("--extras-dir") { args += ["--extras-dir", f.extras] }
        let out = try Witness.run([hvctlBinary] + args)
        #expect(out.status != 0)
        #expect(out.stderr.contains(message), "\(out.stderr)")
        let errorLines = out.stderr.split(separator: "\n").filter { !$0.hasPrefix("Usage") && !$0.hasPrefix("  See") && !$0.isEmpty }
        #expect(errorLines.count == 1, "\(out.stderr)")
    }
}

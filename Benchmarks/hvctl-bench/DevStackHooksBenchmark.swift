import Foundation

/// N no-op hooks in DevStack mode, with the DevStack snapshot as TOP_DIR (../shared/fixtures,
/// or $HVCTL_DEVSTACK_TREE): `hvctl hooks run stack install` (DevStack's environment built once,
/// then carried from call to call), beside a loop of `systemd-run --wait` running a bash that
/// replays the same environment before each call, as a tool without carried state must.
struct DevStackHooksBenchmark {
    var count: Int
    var hvctl: String
    /// The replay loop is ~0.5 s a call: this many calls give its per-hook figure.
    var loopCalls = 20

    static func tree() -> String? {
        if let tree = ProcessInfo.processInfo.environment["HVCTL_DEVSTACK_TREE"], !tree.isEmpty { return tree }
        let bench = URL(fileURLWithPath: #filePath).deletingLastPathComponent()  // Benchmarks/hvctl-bench
        let path = bench.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/fixtures/devstack").path
        return FileManager.default.fileExists(atPath: path + "/stack.sh") ? path : nil
    }

    func run() throws {
        guard let tree = Self.tree() else {
            out("hooks in DevStack mode: skipped (no DevStack tree: ../shared/fixtures/devstack or HVCTL_DEVSTACK_TREE)")
            return
        }
        let root = "/tmp/hvctl-bench-devstack-\(getpid())"
        let top = root + "/devstack"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        chmod(root, 0o755)
        try runProgram("/bin/cp", ["-r", tree, top])
        try runProgram("/bin/chmod", ["-R", "u+w,go-w", top])
        try? FileManager.default.removeItem(atPath: top + "/extras.d")
        try FileManager.default.createDirectory(atPath: top + "/extras.d", withIntermediateDirectories: true)
        chmod(top + "/extras.d", 0o755)
        // STACK_USER=root: a root run refuses an untrusted STACK_USER.
        try "[[local|localrc]]\nDEST=\(root)/dest\nADMIN_PASSWORD=secret\nSTACK_USER=root\nVIRT_DRIVER=fake\ndisable_service tempest\n"
            .write(toFile: top + "/local.conf", atomically: false, encoding: .utf8)
        chmod(top + "/local.conf", 0o644)
        var hooks: [String] = []
        for i in 0..<count {
            let path = top + "/extras.d/\(10 + i % 80)-noop\(i).sh"
            try #"if [[ "$1" == "source" ]]; then :; elif [[ "$1" == "stack" ]]; then :; fi"#.write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, 0o644)
            hooks.append(path)
        }
        let runtime = root + "/run"
        let env = ["HVCTL_RUNTIME_DIR": runtime, "HVCTL_STATE_DIR": root + "/state"]
        let clock = ContinuousClock()
        try runProgram(hvctl, ["hooks", "run", "stack", "install", "--top-dir", top], environment: env)  // warm-up; installs the steps
        let report = root + "/report.json"
        let whole = try clock.measure {
            try runProgram("/bin/sh", ["-c", "exec \"$0\" hooks run stack install --top-dir \"$1\" -o json > \"$2\"", hvctl, top, report], environment: env)
        }
        let outcomes = (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])?["hooks"] as? [[String: Any]] ?? []
        let install = outcomes.filter { $0["phase"] as? String == "install" }.compactMap { $0["seconds"] as? Double }
        guard install.count == count else { throw BenchmarkError("expected \(count) install calls in hvctl's report, got \(install.count)") }
        let perCall = install.reduce(0, +) * 1000 / Double(count)
        let calls = outcomes.count

        // The loop: every call replays DevStack's environment (hvctl's own settings and
        // libraries steps, the hook's source call), then makes the call.
        let rc = root + "/rc"
        try FileManager.default.createDirectory(atPath: rc, withIntermediateDirectories: true)
        for file in ["stackrc", "functions"] { symlink(top + "/" + file, rc + "/" + file) }
        let replay = #"source "$HVCTL_STEPS/devstack-settings.sh"; source "$HVCTL_STEPS/devstack-libraries.sh"; . "$0" source; . "$0" stack install"#
        let loopHooks = Array(hooks.prefix(loopCalls))
        let viaLoop = try clock.measure {
            for hook in loopHooks {
                try runProgram("/usr/bin/systemd-run", [
                    "--wait", "--collect", "--quiet", "--slice=hvctl.slice", "--working-directory=\(top)",
                    "-E", "TOP_DIR=\(top)", "-E", "HVCTL_RC_DIR=\(rc)", "-E", "HVCTL_SETTINGS=/dev/null", "-E", "HVCTL_STEPS=\(runtime)",
                    "/bin/bash", "-c", replay, hook,
                ])
            }
        }
        let loopPerCall = milliseconds(viaLoop) / Double(loopHooks.count)
        out("hooks in DevStack mode (no-op, the DevStack snapshot as TOP_DIR), \(count) in stack install:")
        out(String(format: "  %-58@ %9.1f ms/hook", "hvctl, one install call (unit, load state, hook, save)" as NSString, perCall))
        out(String(format: "  %-58@ %9.1f ms (%d units: environment, override_defaults, source, install)", "hvctl hooks run stack install, the whole command" as NSString, milliseconds(whole), calls))
        out(String(format: "  %-58@ %9.1f ms/hook (%d calls)", "systemd-run --wait bash replaying the environment, a loop" as NSString, loopPerCall, loopHooks.count))
        out(ratioRow("ratio, hvctl's install call vs the replaying loop", loopPerCall / perCall, target: "<= 40 ms/hook and >= 5x"))
    }
}

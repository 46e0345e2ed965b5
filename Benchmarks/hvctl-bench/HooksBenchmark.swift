import Foundation

/// N no-op DevStack-style hooks: one `hvctl hooks run` over all of them, beside a loop of
/// `systemd-run --wait --collect bash -c '. hook source; . hook stack install'` and a loop of
/// plain `bash -c` doing the same without systemd.
struct HooksBenchmark {
    var count: Int

    /// The hvctl binary: $HVCTL_BIN, else the one built beside this benchmark.
    var hvctl: String {
        if let path = ProcessInfo.processInfo.environment["HVCTL_BIN"] { return path }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("hvctl").path
    }

    func run() throws {
        guard FileManager.default.isExecutableFile(atPath: hvctl) else {
            throw BenchmarkError("no hvctl binary at \(hvctl); build it (make bench does) or set HVCTL_BIN")
        }
        let fixture = try BenchExtras("hooks")
        defer { fixture.remove() }
        let extras = fixture.extras
        let hooks = try (0..<count).map { i in
            try fixture.add("\(10 + i % 80)-noop\(i).sh", #"if [[ "$1" == "source" ]]; then :; elif [[ "$1" == "stack" ]]; then :; fi"#)
        }
        let script = #". "$0" source; . "$0" stack install"#
        let clock = ContinuousClock()
        try runProgram(hvctl, ["hooks", "run", "stack", "install", "--extras-dir", extras])  // warm-up
        let viaHvctl = try clock.measure {
            try runProgram(hvctl, ["hooks", "run", "stack", "install", "--extras-dir", extras])
        }
        let viaSystemdRun = try clock.measure {
            for hook in hooks {
                try runProgram("/usr/bin/systemd-run", ["--wait", "--collect", "--quiet", "--slice=hvctl.slice", "/bin/bash", "-c", script, hook])
            }
        }
        let viaBash = try clock.measure {
            for hook in hooks { try runProgram("/bin/bash", ["-c", script, hook]) }
        }
        out("hooks (no-op, '. hook source; . hook stack install'), \(count) in one phase:")
        out(row("hvctl hooks run (one unit per hook)", viaHvctl, per: count, unit: "hook"))
        out(row("systemd-run --wait --collect bash, a loop", viaSystemdRun, per: count, unit: "hook"))
        out(row("plain bash, a loop (no systemd)", viaBash, per: count, unit: "hook"))
        out(ratioRow("ratio, hvctl vs the systemd-run loop", milliseconds(viaSystemdRun) / milliseconds(viaHvctl), target: "<= 10 ms/hook and >= 2x"))
        out("  binary: \(hvctl)")
    }
}

import Foundation

/// `hvctl cleanup libvirt` of N running marked domains beside a loop of `virsh destroy` +
/// `virsh undefine` over N such domains.
struct LibvirtBenchmark {
    var count: Int
    var hvctl: String

    func run() throws {
        let env = ["HVCTL_STATE_DIR": "/tmp/hvctl-bench-lv-state-\(getpid())"]
        defer { try? FileManager.default.removeItem(atPath: env["HVCTL_STATE_DIR"]!) }
        try runProgram(hvctl, ["start", "libvirt"], environment: env)

        let ours = try launch(tag: "h", env: env)
        let cleanupJSON = try capture(hvctl, ["cleanup", "libvirt", "-o", "json"], environment: env)
        let report = try driverReport(cleanupJSON, "libvirt")
        let destroy = (report["killSeconds"] as? Double ?? 0) * 1000
        let undefine = (report["removeSeconds"] as? Double ?? 0) * 1000
        guard (report["removed"] as? [String: [String]])?["domain"]?.count == ours.count else {
            throw BenchmarkError("hvctl cleanup did not remove the \(ours.count) domains")
        }

        let theirs = try launch(tag: "v", env: env)
        var virshDestroy = 0.0
        var virshUndefine = 0.0
        for name in theirs {
            virshDestroy += milliseconds(try ContinuousClock().measure {
                try runProgram("/usr/bin/virsh", ["-c", "qemu:///system", "destroy", name])
            })
            virshUndefine += milliseconds(try ContinuousClock().measure {
                try runProgram("/usr/bin/virsh", ["-c", "qemu:///system", "undefine", name])
            })
        }
        out("libvirt:")
        out(String(format: "  cleanup of %d running marked domains:", count))
        out(String(format: "    hvctl cleanup libvirt      %7.0f ms  (destroy %.0f ms, undefine %.0f ms)", destroy + undefine, destroy, undefine))
        out(String(format: "    virsh destroy+undefine loop %6.0f ms  (destroy %.0f ms, undefine %.0f ms)", virshDestroy + virshUndefine, virshDestroy, virshUndefine))
        out(String(format: "    ratio hvctl/virsh          %7.2f   (target: <= 0.2)", (destroy + undefine) / (virshDestroy + virshUndefine)))
    }

    private func launch(tag: String, env: [String: String]) throws -> [String] {
        try (0..<count).map { i in
            let name = "hvctl-bench-\(tag)-\(getpid())-\(i)"
            // No network: a network hvctl made on this state's record would outlive the state
            // directory the defer removes, and be foreign to the benchmarks after this one.
            try runProgram(hvctl, ["instance", "launch", name, "--driver", "libvirt", "--network", "none"], environment: env)
            return name
        }
    }
}

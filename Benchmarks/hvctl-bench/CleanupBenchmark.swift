import Foundation

/// `hvctl cleanup` of a CI host's leftovers — running marked containers, running marked
/// domains and failed hook units — beside the CLI equivalent run one after another:
/// `docker rm -f`, a `virsh destroy`/`undefine` loop, `systemctl reset-failed`.
struct CleanupBenchmark {
    var containers = 100
    var domains = 20
    var failedUnits = 50
    var hvctl: String

    func run() throws {
        let env = ["HVCTL_STATE_DIR": "/tmp/hvctl-bench-cleanup-\(getpid())"]
        defer { try? FileManager.default.removeItem(atPath: env["HVCTL_STATE_DIR"]!) }
        try runProgram(hvctl, ["start", "docker"], environment: env)
        try runProgram(hvctl, ["start", "libvirt"], environment: env)

        try make(tag: "h", env: env)
        let clock = ContinuousClock()
        var json = ""
        let ours = try clock.measure { json = try capture(hvctl, ["cleanup", "-o", "json"], environment: env) }
        let top = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
        guard let removed = top["removedCount"] as? Int, removed >= containers + domains + failedUnits else {
            throw BenchmarkError("hvctl cleanup removed \(top["removedCount"] ?? "?") items, not \(containers + domains + failedUnits)")
        }

        // Cleanup removed hvctl's base image too; a no-op start brings it back.
        try runProgram(hvctl, ["start", "docker"], environment: env)
        let (ids, names) = try make(tag: "c", env: env)
        let docker = try clock.measure { try runProgram("/usr/bin/docker", ["rm", "-f"] + ids) }
        let virsh = try clock.measure {
            for name in names {
                try runProgram("/usr/bin/virsh", ["-c", "qemu:///system", "destroy", name])
                try runProgram("/usr/bin/virsh", ["-c", "qemu:///system", "undefine", name])
            }
        }
        let systemctl = try clock.measure { try runProgram("/usr/bin/systemctl", ["reset-failed"]) }
        let cli = docker + virsh + systemctl
        out("cleanup:")
        out(String(format: "  hvctl cleanup of %d containers + %d domains + %d failed hook units:", containers, domains, failedUnits))
        out(String(format: "    hvctl cleanup (all at once)   %7.0f ms", milliseconds(ours)))
        out(String(format: "    CLI, one after another        %7.0f ms  (docker rm -f %.0f, virsh loop %.0f, systemctl reset-failed %.0f)",
                     milliseconds(cli), milliseconds(docker), milliseconds(virsh), milliseconds(systemctl)))
        out(String(format: "    ratio hvctl/CLI               %7.2f   (target: <= 0.6)", milliseconds(ours) / milliseconds(cli)))
    }

    /// The leftovers: containers with hvctl's labels (docker CLI), domains launched by hvctl,
    /// and failed units named as hvctl names hook units (systemd-run), so the setup costs
    /// nothing in the figures.
    @discardableResult
    private func make(tag: String, env: [String: String]) throws -> (containers: [String], domains: [String]) {
        let ids = try DockerBenchmark(count: containers, hvctl: hvctl).make(
            containers, network: "none", tag: "x\(tag)", recordIn: tag == "h" ? env["HVCTL_STATE_DIR"] : nil)
        var names: [String] = []
        for i in 0..<domains {
            let name = "hvctl-bench-x\(tag)-\(getpid())-\(i)"
            try runProgram(hvctl, ["instance", "launch", name, "--driver", "libvirt"], environment: env)
            names.append(name)
        }
        let run = "bench\(tag)\(getpid())"
        for i in 0..<failedUnits {
            try runProgram("/usr/bin/systemd-run", [
                "--quiet", "--unit", "hvctl-\(run)-extra-\(10 + i % 80)-fail\(i).service", "--slice", "hvctl.slice", "/bin/false",
            ])
        }
        // Wait until all of them have failed, as a CI job's leftovers would have.
        for _ in 0..<200 {
            let listed = try capture("/usr/bin/systemctl", ["list-units", "--state=failed", "--plain", "--no-legend", "hvctl-\(run)-*"])
            if listed.split(separator: "\n").count >= failedUnits { break }
            usleep(20_000)
        }
        return (ids, names)
    }
}

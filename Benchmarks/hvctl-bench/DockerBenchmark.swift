import Foundation

/// `hvctl start docker` when Docker already runs, and `hvctl cleanup docker` of N running
/// labelled containers beside `docker rm -f` of N such containers through the CLI, for each
/// network mode an instance may have. The same for Podman (`driver`, `cli`) against
/// `podman rm -f`.
struct DockerBenchmark {
    var count: Int
    var hvctl: String
    var driver = "docker"
    var cli = "/usr/bin/docker"
    var networks = ["none", "bridge"]

    func run() throws {
        let env = ["HVCTL_STATE_DIR": "/tmp/hvctl-bench-state-\(getpid())"]
        defer { try? FileManager.default.removeItem(atPath: env["HVCTL_STATE_DIR"]!) }
        try runProgram(hvctl, ["start", driver], environment: env)

        var samples: [Double] = []
        for _ in 0..<10 {
            samples.append(milliseconds(try ContinuousClock().measure { try runProgram(hvctl, ["start", driver], environment: env) }))
        }
        samples.sort()
        out("\(driver):")
        out(String(format: "  hvctl start \(driver), already running: median %.0f ms, best %.0f ms, worst %.0f ms (target: < 100 ms)",
                     samples[samples.count / 2], samples[0], samples[samples.count - 1]))

        for network in networks {
            try runProgram(hvctl, ["start", driver], environment: env)
            try make(count, network: network, tag: "h", recordIn: env["HVCTL_STATE_DIR"])
            let cleanupJSON = try capture(hvctl, ["cleanup", driver, "-o", "json"], environment: env)
            let report = try driverReport(cleanupJSON, driver)
            let kill = (report["killSeconds"] as? Double ?? 0) * 1000
            let removal = (report["removeSeconds"] as? Double ?? 0) * 1000

            // Cleanup removed hvctl's base image too; a no-op start brings it back.
            try runProgram(hvctl, ["start", driver], environment: env)
            let ids = try make(count, network: network, tag: "c")
            let cliTime = try ContinuousClock().measure { try runProgram(cli, ["rm", "-f"] + ids) }
            out(String(format: "  cleanup of %d running containers, network %@:", count, network))
            let tool = (cli as NSString).lastPathComponent
            out(String(format: "    hvctl cleanup %@ %7.0f ms  (kill %.0f ms, removal %.0f ms)", driver.padding(toLength: 12, withPad: " ", startingAt: 0), kill + removal, kill, removal))
            out(String(format: "    %@ rm -f (the CLI) %7.0f ms", tool.padding(toLength: 10, withPad: " ", startingAt: 0), milliseconds(cliTime)))
            out(String(format: "    ratio hvctl/CLI            %7.2f   (target: <= 1.0)", (kill + removal) / milliseconds(cliTime)))
        }
    }

    /// N running containers carrying hvctl's instance labels, made with the docker CLI so the
    /// setup costs nothing in the figures. With `recordIn`, they are put on record in that
    /// state directory as `hvctl instance launch` records them: hvctl removes only what it has
    /// on record.
    @discardableResult
    func make(_ n: Int, network: String, tag: String, recordIn stateDirectory: String? = nil) throws -> [String] {
        var ids: [String] = []
        var names: [String] = []
        defer { if let stateDirectory { try? record(zip(names, ids).map { ($0, $1) }, in: stateDirectory) } }
        for i in 0..<n {
            let name = "hvctl-bench-\(tag)-\(getpid())-\(i)"
            // Output to /dev/null, not a pipe: podman's conmon keeps what `run` had open.
            try runProgram(cli, [
                "run", "-d", "--name", name, "--network", network, "--label", "org.hvctl.managed=true",
                "--label", "org.hvctl.instance=\(name)", "hvctl/busybox:latest",
                "/bin/sh", "-c", "trap 'exit 0' TERM INT; sleep 2147483647 & wait",
            ])
            names.append(name)
        }
        ids = try capture(cli, ["inspect", "--format", "{{.Id}}"] + names).split(separator: "\n").map(String.init)
        return ids
    }

    /// Adds container records to state.json, in the shape hvctl writes them.
    func record(_ containers: [(name: String, id: String)], in stateDirectory: String) throws {
        let file = stateDirectory + "/state.json"
        var state = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file)))) as? [String: Any] ?? ["version": 1]
        var resources = state["resources"] as? [[String: Any]] ?? []
        resources += containers.map { ["driver": driver, "kind": "container", "name": $0.name, "id": $0.id] }
        state["resources"] = resources
        try JSONSerialization.data(withJSONObject: state, options: [.sortedKeys]).write(to: URL(fileURLWithPath: file))
    }
}

func capture(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw BenchmarkError("\(path) \(arguments.prefix(3).joined(separator: " ")) exited \(p.terminationStatus)") }
    return String(decoding: data, as: UTF8.self)
}

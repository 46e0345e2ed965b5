import Foundation

func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

/// Runs a program to completion with stdout to /dev/null; a failure aborts the benchmark
/// (its figures would lie). posix_spawn + waitpid, not Foundation's Process, whose
/// waitUntilExit polls and rounds every figure up to its 50 ms tick.
func runProgram(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    let envp = env.map { strdup($0) } + [nil]
    defer {
        argv.forEach { free($0) }
        envp.forEach { free($0) }
    }
    var pid = pid_t()
    let r = posix_spawn(&pid, path, &actions, nil, argv, envp)
    guard r == 0 else { throw BenchmarkError("cannot run \(path): \(String(cString: strerror(r)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exited = status & 0x7f == 0
    let code = (status >> 8) & 0xff
    guard exited && code == 0 else {
        throw BenchmarkError("\(path) \(arguments.prefix(4).joined(separator: " ")) failed (status \(status))")
    }
}

/// One driver's part of `hvctl cleanup -o json`.
func driverReport(_ json: String, _ driver: String) throws -> [String: Any] {
    let top = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
    guard let report = (top["drivers"] as? [[String: Any]])?.first(where: { $0["driver"] as? String == driver }) else {
        throw BenchmarkError("hvctl cleanup -o json has no report for \(driver)")
    }
    return report
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func row(_ label: String, _ total: Duration, per count: Int, unit: String) -> String {
    "  " + label.padding(toLength: 44, withPad: " ", startingAt: 0)
        + String(format: " %7.2f ms/", milliseconds(total) / Double(count)) + unit
        + String(format: "  (%.0f ms total)", milliseconds(total))
}

func ratioRow(_ label: String, _ ratio: Double, target: String) -> String {
    "  " + label.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: " %7.2fx faster", ratio) + "  (target: \(target))"
}

/// A line to stdout, unbuffered: figures appear as they are measured.
func out(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// A throwaway TOP_DIR with an extras.d directory, modes as hvctl's safety check wants them.
struct BenchExtras {
    let top: String
    var extras: String { top + "/extras.d" }

    init(_ tag: String) throws {
        top = "/tmp/hvctl-bench-\(tag)-\(getpid())"
        try FileManager.default.createDirectory(atPath: top + "/extras.d", withIntermediateDirectories: true)
        chmod(top, 0o755)
        chmod(top + "/extras.d", 0o755)
    }

    /// Writes a hook (mode 0644) and returns its path.
    @discardableResult
    func add(_ file: String, _ body: String) throws -> String {
        let path = extras + "/" + file
        try body.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o644)
        return path
    }

    func remove() { try? FileManager.default.removeItem(atPath: top) }
}

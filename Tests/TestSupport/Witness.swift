import Foundation

/// Runs a CLI (systemctl, journalctl, virsh, curl, …) as an independent witness of what
/// hvctl did. Tests only: the product itself never shells out to these.
public struct Witness {
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var trimmed: String { stdout.trimmingCharacters(in: .whitespacesAndNewlines) }

        public init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read before waiting so a chatty command cannot fill the pipe and block.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// `systemctl show -p NAME --value UNIT`.
    public static func unitProperty(_ unit: String, _ property: String) throws -> String {
        try run(["systemctl", "show", "-p", property, "--value", unit]).trimmed
    }
}

/// A name no other test (or earlier run) uses.
public func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}

/// Polls `probe` until it returns a value or `timeout` passes.
public func eventually<T>(
    timeout: Duration = .seconds(10), every: Duration = .milliseconds(50), _ probe: () async throws -> T?
) async throws -> T? {
    let end = ContinuousClock.now.advanced(by: timeout)
    while true {
        if let value = try await probe() { return value }
        if ContinuousClock.now >= end { return nil }
        try await Task.sleep(for: every)
    }
}

/// Writes a unit file under /run/systemd/system and reloads systemd; returns a remover.
public func installUnit(_ name: String, _ contents: String) throws -> @Sendable () -> Void {
    let path = "/run/systemd/system/\(name)"
    try FileManager.default.createDirectory(atPath: "/run/systemd/system", withIntermediateDirectories: true)
    try contents.write(toFile: path, atomically: true, encoding: .utf8)
    try Witness.run(["systemctl", "daemon-reload"])
    return {
        _ = try? Witness.run(["systemctl", "stop", name])
        try? FileManager.default.removeItem(atPath: path)
        _ = try? Witness.run(["systemctl", "daemon-reload"])
        _ = try? Witness.run(["systemctl", "reset-failed", name])
    }
}

/// Starts docker.socket and docker.service (systemctl, as a witness would) and waits until
/// the daemon answers, so a test that stopped Docker leaves it as it found it.
public func ensureDockerRunning() {
    _ = try? Witness.run(["systemctl", "reset-failed", "docker.socket", "docker.service"])
    _ = try? Witness.run(["systemctl", "start", "docker.socket", "docker.service"])
    for _ in 0..<300 {
        if (try? Witness.run(["curl", "-sf", "--unix-socket", "/run/docker.sock", "http://docker/_ping"]))?.status == 0 { return }
        usleep(100_000)
    }
}

/// Starts libvirtd's sockets and service, as a test found them.
public func ensureLibvirtRunning() {
    _ = try? Witness.run(["systemctl", "reset-failed", "libvirtd.service"])
    _ = try? Witness.run(["systemctl", "start", "libvirtd.socket", "libvirtd-ro.socket", "libvirtd-admin.socket", "libvirtd.service"])
    // Guests join libvirt's default network when it is active; without it each test's own
    // state would make an `hvctl` network the next test's state does not know.
    _ = try? Witness.run(["virsh", "-c", "qemu:///system", "net-start", "default"])
}

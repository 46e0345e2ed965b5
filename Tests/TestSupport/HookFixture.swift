import Foundation
import Hooks
import Systemd
import TestSupport

/// A TOP_DIR with an extras.d directory, in /tmp of the test host, removed by `remove()`.
public struct HookFixture {
    public let top: String
    public var extras: String { top + "/extras.d" }
    /// Where hooks may write what they saw.
    public var out: String { top + "/out" }

    public init() throws {
        top = "/tmp/" + uniqueName("hvctl-hooks")
        for dir in [top, top + "/extras.d", top + "/out"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            chmod(dir, 0o755)
        }
    }

    public func add(_ file: String, _ body: String, mode: mode_t = 0o644, in dir: String? = nil) throws {
        let path = (dir ?? extras) + "/" + file
        try body.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode)
    }

    public func read(_ file: String) -> String? {
        try? String(contentsOfFile: out + "/" + file, encoding: .utf8)
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: top)
    }

    public func options(_ run: RunID = .generate(), driver: String = "fake", timeout: Duration = .seconds(60)) -> HookRunner.Options {
        var o = HookRunner.Options(run: run, driver: driver, topDir: top)
        o.timeout = timeout
        o.environment = ["OUT": out]
        return o
    }

    public func run(_ call: HookCall, _ options: HookRunner.Options? = nil) async throws -> HookRunReport {
        let hooks = try ExtrasDirectory(path: extras).scan().hooks
        let manager = try await SystemdManager.connect()
        return try await HookRunner(manager: manager, options: options ?? self.options()).run(hooks, call)
    }
}

/// Units matching `pattern` still loaded in systemd, per systemctl.
public func loadedUnits(matching pattern: String) throws -> [String] {
    try Witness.run(["systemctl", "list-units", "--all", "--no-legend", "--plain", pattern]).stdout
        .split(separator: "\n").map { String($0.split(separator: " ").first ?? "") }.filter { !$0.isEmpty }
}

/// Units of one run still loaded in systemd, per systemctl.
public func loadedUnits(of run: RunID) throws -> [String] {
    try loadedUnits(matching: "hvctl-\(run)-*")
}

import Foundation
import TestSupport
import Testing

/// Every file under `dir` with its bytes, mode and owner: a dry run must leave it identical.
func snapshot(_ dir: String) throws -> [String: String] {
    var out: [String: String] = [:]
    guard let walker = FileManager.default.enumerator(atPath: dir) else { return out }
    while let relative = walker.nextObject() as? String {
        let path = dir + "/" + relative
        var st = stat()
        guard lstat(path, &st) == 0 else { continue }
        let bytes = (st.st_mode & S_IFMT) == S_IFREG ? (FileManager.default.contents(atPath: path)?.base64EncodedString() ?? "?") : ""
        out[relative] = "\(st.st_mode) \(st.st_uid):\(st.st_gid) \(bytes)"
    }
    return out
}

@Suite("--dry-run changes nothing, on every command that takes it (test host)", .serialized)
struct DryRunTests {
    init() {
        ensureDockerRunning()
    }

    static let commands: [[String]] = [
        ["stack", "fake"], ["unstack", "fake"], ["clean", "fake"], ["switch", "fake"], ["switch", "docker", "--clean"], ["start", "fake"], ["stop", "fake"],
        ["hooks", "run", "stack", "install", "--driver", "fake"], ["hooks", "run", "clean", "--driver", "fake"],
        ["cleanup"], ["cleanup", "fake"], ["start", "docker"], ["stack", "docker"], ["start", "libvirt"],
    ]

    @Test("each prints its plan, exits 0 and leaves state, runtime directory, compute config and systemd's units as they were", arguments: commands)
    func nothingChanges(_ command: [String]) throws {
        let f = try HookFixture()
        defer { f.remove() }
        let h = HvctlHost(top: f.top + "/host")
        try FileManager.default.createDirectory(atPath: h.dir, withIntermediateDirectories: true)
        try f.add("10-mark.sh", #"touch "$OUT/ran""#)
        try "[DEFAULT]\nkeep = me\n".write(toFile: h.dir + "/compute.conf", atomically: false, encoding: .utf8)
        // A state of some history: fake active and stacked.
        #expect(try h.hvctl(["stack", "fake", "--extras-dir", f.extras, "--env", "OUT=\(f.out)"]).status == 0)
        try? FileManager.default.removeItem(atPath: f.out + "/ran")
        let unitsBefore = try Witness.run(["systemctl", "list-units", "--all", "--no-legend", "--plain", "hvctl-*"]).trimmed
        let before = try snapshot(f.top)
        let hookOptions = command.first == "cleanup" ? [] : ["--extras-dir", f.extras, "--env", "OUT=\(f.out)"]
        let out = try h.hvctl(command + ["--dry-run"] + hookOptions)
        #expect(out.status == 0, "\(command): \(out.stderr)")
        #expect(!out.stdout.isEmpty, "\(command) printed no plan")
        #expect(try snapshot(f.top) == before, "\(command) --dry-run changed files")
        #expect(f.read("ran") == nil, "\(command) --dry-run ran a hook")
        let unitsAfter = try Witness.run(["systemctl", "list-units", "--all", "--no-legend", "--plain", "hvctl-*"]).trimmed
        #expect(unitsAfter == unitsBefore, "\(command) --dry-run left units: \(unitsAfter)")
    }

    @Test("start docker --dry-run with Docker stopped starts nothing and records nothing")
    func startDockerStopped() throws {
        let h = HvctlHost("hvctl-dry-docker")
        try FileManager.default.createDirectory(atPath: h.dir, withIntermediateDirectories: true)
        defer { h.remove(); ensureDockerRunning() }
        try Witness.run(["systemctl", "stop", "docker.socket", "docker.service"])
        let before = try snapshot(h.dir)
        let out = try h.hvctl("start", "docker", "--dry-run")
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("start"), "\(out.stdout)")
        #expect(try Witness.unitProperty("docker.service", "ActiveState") == "inactive", "--dry-run started docker.service")
        #expect(try Witness.unitProperty("docker.socket", "ActiveState") == "inactive", "--dry-run started docker.socket")
        #expect(try snapshot(h.dir) == before, "--dry-run wrote files")
    }
}

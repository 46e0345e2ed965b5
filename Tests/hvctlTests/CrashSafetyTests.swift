import Core
import Foundation
import Hypervisors
import TestSupport
import Testing

/// An hvctl process the test will kill, with its output in files.
private struct Victim {
    let process = Process()
    let stderrPath: String

    init(_ args: [String], environment: [String: String], dir: String) throws {
        stderrPath = dir + "/victim.err"
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        FileManager.default.createFile(atPath: dir + "/victim.out", contents: nil)
        process.executableURL = URL(fileURLWithPath: hvctlBinary)
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: dir + "/victim.out")
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Where in an hvctl command the test kills it, and how it knows it got there.
struct KillPoint: CustomTestStringConvertible, Sendable {
    enum Trigger: Sendable {
        /// The hook 20-block.sh has started for this call ("stack extra", "unstack", …).
        case hook(String)
        /// hvctl said this on stderr.
        case says(String)
        /// This long after the run's lease appeared.
        case afterLease(milliseconds: Int)
    }
    enum Prepare: Sendable { case none, stopDocker, removeBaseImage, stopLibvirt, stackFake }

    var name: String
    var driver: String
    var arguments: [String]
    var trigger: Trigger
    var prepare: Prepare = .none
    var testDescription: String { name }

    static let all: [KillPoint] = {
        var points: [KillPoint] = []
        for call in ["stack pre-install", "stack install", "stack post-config", "stack extra", "stack test-config"] {
            points.append(KillPoint(name: "docker: during hook \(call)", driver: "docker", arguments: ["stack", "docker"], trigger: .hook(call)))
        }
        points.append(KillPoint(name: "docker: while docker.service starts", driver: "docker", arguments: ["stack", "docker"], trigger: .says("starting docker.service"), prepare: .stopDocker))
        points.append(KillPoint(name: "docker: while the base image is imported", driver: "docker", arguments: ["stack", "docker"], trigger: .says("importing the base image"), prepare: .removeBaseImage))
        points.append(KillPoint(name: "docker: during hook unstack", driver: "docker", arguments: ["unstack", "docker"], trigger: .hook("unstack")))
        for call in ["stack pre-install", "stack extra"] {
            points.append(KillPoint(name: "libvirt: during hook \(call)", driver: "libvirt", arguments: ["stack", "libvirt"], trigger: .hook(call)))
        }
        points.append(KillPoint(name: "libvirt: while libvirtd.service starts", driver: "libvirt", arguments: ["stack", "libvirt"], trigger: .says("starting libvirtd.service"), prepare: .stopLibvirt))
        for ms in [0, 40, 120] {
            points.append(KillPoint(name: "docker: instance launch +\(ms) ms", driver: "docker", arguments: ["instance", "launch", "victim", "--driver", "docker"], trigger: .afterLease(milliseconds: ms)))
        }
        for ms in [0, 60, 200] {
            points.append(KillPoint(name: "libvirt: instance launch +\(ms) ms", driver: "libvirt", arguments: ["instance", "launch", "victim", "--driver", "libvirt"], trigger: .afterLease(milliseconds: ms)))
        }
        points.append(KillPoint(name: "fake: during hook stack test-config", driver: "fake", arguments: ["stack", "fake"], trigger: .hook("stack test-config")))
        points.append(KillPoint(name: "fake: during hook clean", driver: "fake", arguments: ["clean", "fake"], trigger: .hook("clean")))
        points.append(KillPoint(name: "switch fake -> docker: during docker's hook stack extra", driver: "docker", arguments: ["switch", "docker"], trigger: .hook("stack extra"), prepare: .stackFake))
        points.append(KillPoint(name: "hooks run: during a hook", driver: "fake", arguments: ["hooks", "run", "stack", "extra", "--driver", "fake"], trigger: .hook("stack extra")))
        return points
    }()
}

/// What still carries `run`'s mark: its lease, units, containers, images and domains.
func leftovers(of run: String, state: String) throws -> [String] {
    var found: [String] = []
    if FileManager.default.fileExists(atPath: "\(state)/runs/\(run).lease") { found.append("lease") }
    let units = try Witness.run(["systemctl", "list-units", "--all", "--plain", "--no-legend", "hvctl-\(run)-*"]).trimmed
    if !units.isEmpty { found.append("units: \(units)") }
    if try Witness.unitProperty("docker.service", "ActiveState") == "active" {
        for kind in [["ps", "-aq"], ["network", "ls", "-q"], ["volume", "ls", "-q"]] {
            let ids = try Witness.run(["docker"] + kind + ["--filter", "label=org.hvctl.run=\(run)"]).trimmed
            if !ids.isEmpty { found.append("docker \(kind[0]): \(ids)") }
        }
    }
    if try Witness.unitProperty("podman.socket", "ActiveState") == "active" {
        let ids = try Witness.run(["podman", "ps", "-aq", "--filter", "label=org.hvctl.run=\(run)"]).trimmed
        if !ids.isEmpty { found.append("podman containers: \(ids)") }
    }
    if try Witness.unitProperty("libvirtd.service", "ActiveState") == "active" {
        for domain in try Witness.run(["virsh", "-c", "qemu:///system", "list", "--all", "--name"]).stdout.split(separator: "\n") {
            if try Witness.run(["virsh", "-c", "qemu:///system", "dumpxml", String(domain)]).stdout.contains("run='\(run)'") {
                found.append("domain \(domain)")
            }
        }
    }
    return found
}

/// A running container with hvctl's full mark and `run`'s id, on record in `state` as hvctl
/// records one before it asks Docker for it: as if that run had launched it.
func runMarkedContainer(_ name: String, run: String, state: String) throws -> Bool {
    try StateStore(directory: state).record(ResourceRecord(driver: "docker", kind: "container", name: name, run: run))
    return try Witness.run([
        "docker", "run", "-d", "--name", name, "--network", "none", "--label", "org.hvctl.managed=true",
        "--label", "org.hvctl.instance=\(name)", "--label", "org.hvctl.run=\(run)", "hvctl/busybox:latest", "sleep", "600",
    ]).status == 0
}

@Suite("crash safety: SIGKILL at 21 points, the reaper, cleanup (test host)", .serialized)
struct CrashSafetyTests {
    init() {
        ensureDockerRunning()
        ensureLibvirtRunning()
    }

    @Test("SIGKILL: the run's reaper removes what it made, and the next stack succeeds", arguments: KillPoint.all)
    func killed(at point: KillPoint) async throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-block.sh", #"if [[ "$*" == "$BLOCK_AT" ]]; then touch "$OUT/blocked"; exec sleep 600; fi"#)
        let host = HvctlHost(top: f.top)
        let (state, env) = (host.state, host.env)
        let hookArgs = ["--extras-dir", f.extras, "--env", "OUT=\(f.out)"]
        func hvctl(_ args: [String]) throws -> Witness.Output { try Witness.run([hvctlBinary] + args, environment: env) }
        defer { ensureDockerRunning(); ensureLibvirtRunning() }

        switch point.prepare {
        case .none: break
        case .stopDocker: try Witness.run(["systemctl", "stop", "docker.socket", "docker.service"])
        case .removeBaseImage: _ = try Witness.run(["docker", "rmi", "-f", "hvctl/busybox:latest"])
        case .stopLibvirt:
            try Witness.run(["systemctl", "stop", "libvirtd.socket", "libvirtd-ro.socket", "libvirtd-admin.socket", "libvirtd.service"])
        case .stackFake: #expect(try hvctl(["stack", "fake"] + hookArgs).status == 0)
        }
        if point.arguments.first == "instance" {
            // Launch needs the base image and the domain type: a finished stack gives both.
            #expect(try hvctl(["stack", point.driver]).status == 0)
        }

        var args = point.arguments
        if case .hook(let call) = point.trigger { args += hookArgs + ["--env", "BLOCK_AT=\(call)"] }
        let victim = try Victim(args, environment: env, dir: f.top)
        let leaseDir = state + "/runs"
        let reached: Bool? = try await eventually(timeout: .seconds(60), every: .milliseconds(5)) {
            switch point.trigger {
            case .hook: return FileManager.default.fileExists(atPath: f.out + "/blocked") ? true : nil
            case .says(let text): return victim.stderr.contains(text) ? true : nil
            case .afterLease(let ms):
                guard ((try? FileManager.default.contentsOfDirectory(atPath: leaseDir)) ?? []).contains(where: { $0.hasSuffix(".lease") }) else { return nil }
                try await Task.sleep(for: .milliseconds(ms))
                return true
            }
        }
        let runs = ((try? FileManager.default.contentsOfDirectory(atPath: leaseDir)) ?? []).filter { $0.hasSuffix(".lease") }
        victim.kill9()
        try #require(reached == true, "never reached the kill point; stderr: \(victim.stderr)")
        try #require(runs.count == 1, "leases: \(runs)")
        let run = String(runs[0].dropLast(6))

        // The reaper unit works on its own; nothing else runs until it is done. Killed before
        // it asked systemd to start a stopped daemon, the run leaves the daemon stopped: then
        // the reaper cannot look there and keeps the lease, for the next command to finish.
        var left: [String] = []
        var deferred = false
        let reaperNotes = { try Witness.run(["journalctl", "-t", "hvctl-reaper", "HVCTL_RUN=\(run)", "-o", "cat", "--no-pager"]).stdout }
        let settled = try await eventually(timeout: .seconds(60), every: .milliseconds(200)) { () -> Bool? in
            left = try leftovers(of: run, state: state)
            let noted = try reaperNotes().contains("hvctl reaper: run \(run) (")
            if left.isEmpty && noted { return true }
            let daemon = point.driver == "docker" ? "docker.service" : "libvirtd.service"
            let daemonState = try Witness.unitProperty(daemon, "ActiveState")
            let daemonDown = point.driver != "fake" && daemonState == "inactive"
            let leaseKept = try reaperNotes().contains("the lease stays for the next look")
            deferred = left == ["lease"] && daemonDown && leaseKept
            return deferred ? true : nil
        }
        #expect(settled == true, "left behind by run \(run): \(left)")
        // The run's own reaper unit did it, before any other hvctl command ran.
        let reaper = try reaperNotes()
        #expect(deferred || reaper.contains("hvctl reaper: run \(run) (") && reaper.contains("died unfinished; removed"), "the reaper did not report run \(run): \(reaper)")

        ensureDockerRunning()
        ensureLibvirtRunning()
        let next = try hvctl(["stack", point.driver] + hookArgs)
        #expect(next.status == 0, "the next stack failed: \(next.stderr)")
        if point.arguments.first == "instance" {
            let again = try hvctl(["instance", "launch", "victim", "--driver", point.driver])
            #expect(again.status == 0, "launching the same name again failed: \(again.stderr)")
            #expect(try hvctl(["instance", "delete", "victim", "--driver", point.driver]).status == 0)
        }
        #expect(try leftovers(of: run, state: state).isEmpty)
        if ["stack", "unstack", "clean", "switch"].contains(point.arguments[0]) {
            let record = try String(contentsOfFile: state + "/state.json", encoding: .utf8)
            #expect(record.contains("died unfinished; reaped"), "the state does not say the run died: \(record)")
        }
    }

    @Test("a run still going is never touched; one that finished keeps what it made")
    func liveAndFinishedRuns() async throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-block.sh", #"if [[ "$*" == "stack extra" ]]; then touch "$OUT/blocked"; exec sleep 600; fi"#)
        let host = HvctlHost(top: f.top)
        let (state, env) = (host.state, host.env)
        func hvctl(_ args: String...) throws -> Witness.Output { try Witness.run([hvctlBinary] + args, environment: env) }

        // Finished: `instance launch` exits, its container stays, even after its reaper ran.
        #expect(try hvctl("stack", "docker").status == 0)
        let name = uniqueName("kept")
        #expect(try hvctl("instance", "launch", name, "--driver", "docker").status == 0)
        defer { _ = try? hvctl("instance", "delete", name, "--driver", "docker") }
        let reapers = try await eventually(timeout: .seconds(10)) { () -> Bool? in
            try Witness.run(["systemctl", "list-units", "--all", "--plain", "--no-legend", "hvctl-*-reaper.service"]).trimmed.isEmpty ? true : nil
        }
        #expect(reapers == true, "a finished run's reaper unit is still loaded")
        #expect(try Witness.run(["docker", "inspect", "-f", "{{.State.Running}}", name]).trimmed == "true")
        #expect(try hvctl("reap").stdout.contains("no run died unfinished"))

        // Going: a stack blocked in a hook. cleanup and reap leave it alone and say so.
        let victim = try Victim(["stack", "fake", "--extras-dir", f.extras, "--env", "OUT=\(f.out)"], environment: env, dir: f.top)
        let blocked = try await eventually(timeout: .seconds(30)) { FileManager.default.fileExists(atPath: f.out + "/blocked") ? true : nil }
        try #require(blocked == true, "\(victim.stderr)")
        let run = try #require(try FileManager.default.contentsOfDirectory(atPath: state + "/runs").first { $0.hasSuffix(".lease") }).dropLast(6)
        // Something of that run on Docker, as if it had launched it.
        let theirs = uniqueName("going")
        #expect(try runMarkedContainer(theirs, run: String(run), state: state))
        defer { _ = try? Witness.run(["docker", "rm", "-f", theirs]) }
        let cleanup = try hvctl("cleanup", "fake")
        let sweep = try hvctl("cleanup", "--ignore-unreachable")
        #expect(sweep.status != 0)
        #expect(sweep.stderr.contains("run \(run) is still going"), "\(sweep.stderr)")
        #expect(cleanup.status == 0, "\(cleanup.stderr)")
        #expect(sweep.stderr.contains("container \(theirs) (run \(run) is still going)"), "\(sweep.stderr)")
        #expect(try Witness.run(["docker", "inspect", "-f", "{{.State.Running}}", theirs]).trimmed == "true", "a going run's container was removed")
        let reap = try hvctl("reap", String(run))
        #expect(reap.status != 0)
        #expect(reap.stderr.contains("is still going"))
        #expect(try Witness.unitProperty("hvctl-\(run)-extra-20-block.service", "ActiveState") == "activating")
        victim.kill9()
        let reaped = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) { try leftovers(of: String(run), state: state).isEmpty ? true : nil }
        #expect(reaped == true)
        #expect(try Witness.run(["docker", "inspect", theirs]).status != 0, "the dead run's container is still there")
    }

    @Test("a dead run whose daemon is stopped keeps its lease until the daemon is back, then is reaped")
    func deadRunOnStoppedDaemon() async throws {
        let f = try HookFixture()
        defer { f.remove(); ensureDockerRunning() }
        let host = HvctlHost(top: f.top)
        let (state, env) = (host.state, host.env)
        func hvctl(_ args: String...) throws -> Witness.Output { try Witness.run([hvctlBinary] + args, environment: env) }
        #expect(try hvctl("start", "docker").status == 0)
        let run = "dead" + String(UUID().uuidString.prefix(6)).lowercased().filter(\.isHexDigit)
        let name = uniqueName("orphan")
        #expect(try runMarkedContainer(name, run: run, state: state))
        defer { _ = try? Witness.run(["docker", "rm", "-f", name]) }
        // The lease a run killed with its machine leaves behind; then the machine comes back
        // with Docker stopped.
        try FileManager.default.createDirectory(atPath: state + "/runs", withIntermediateDirectories: true)
        try #"{"command":"hvctl instance launch","endpoints":{"docker":"/run/docker.sock","libvirt":"qemu:///system"},"drivers":["docker"],"pid":1,"run":"\#(run)","started":"2026-11-25T00:00:00Z"}"#
            .write(toFile: state + "/runs/\(run).lease", atomically: false, encoding: .utf8)
        try Witness.run(["systemctl", "stop", "docker.socket", "docker.service"])

        let early = try hvctl("reap")
        #expect(early.status != 0)
        #expect(early.stderr.contains("docker.service is inactive"), "\(early.stderr)")
        #expect(FileManager.default.fileExists(atPath: state + "/runs/\(run).lease"), "the lease went while Docker could not be looked at")
        #expect(try Witness.unitProperty("docker.service", "ActiveState") == "inactive")

        ensureDockerRunning()
        let later = try hvctl("reap")
        #expect(later.status == 0, "\(later.stderr)")
        #expect(later.stdout.contains("run \(run) (hvctl instance launch, pid 1) had died unfinished: removed 1 item"), "\(later.stdout)")
        #expect(!FileManager.default.fileExists(atPath: state + "/runs/\(run).lease"))
        #expect(try Witness.run(["docker", "inspect", name]).status != 0)
    }
}

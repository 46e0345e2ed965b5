import Foundation
import TestSupport
import Testing

@discardableResult
func docker(_ args: String...) throws -> Witness.Output { try Witness.run(["docker"] + args) }

func dockerUp() throws -> Bool {
    try Witness.unitProperty("docker.service", "ActiveState") == "active"
}

@Suite("hvctl start/stop/cleanup/instance on Docker (real dockerd)", .serialized)
struct DockerDriverTests {
    init() {
        // Each test starts from a running daemon; tests that stop it restore it on the way out.
        ensureDockerRunning()
    }

    @Test("from a stopped daemon: start brings it up, status says so, a second start is a no-op, stop stops what hvctl started")
    func startStatusStop() async throws {
        let s = HvctlHost("hvctl-docker-test")
        defer { s.remove() }
        try FileManager.default.createDirectory(atPath: s.dir, withIntermediateDirectories: true)
        try "# mine\n[DEFAULT]\nmy_option = 1\n\n[other]\nx = y\n".write(toFile: s.computeConfig, atomically: true, encoding: .utf8)
        try Witness.run(["systemctl", "stop", "docker.socket", "docker.service"])
        defer { ensureDockerRunning() }

        let stopped = try #require(try s.json("status", "docker", "-o", "json") as? [String: Any])
        #expect((stopped["status"] as? [String: Any])?["running"] as? Bool == false)
        #expect(try !dockerUp(), "status must not start docker")

        let start = try s.hvctl("start", "docker")
        #expect(start.status == 0, "\(start.stderr)")
        #expect(start.stdout.contains("docker started in"))
        #expect(try Witness.run(["curl", "-sf", "--unix-socket", "/run/docker.sock", "http://docker/_ping"]).stdout == "OK")
        let running = try #require(try s.json("status", "-o", "json") as? [String: Any])
        #expect(running["active"] as? String == "docker")
        #expect((running["status"] as? [String: Any])?["running"] as? Bool == true)

        let conf = try String(contentsOfFile: s.computeConfig, encoding: .utf8)
        #expect(conf == "# mine\n[DEFAULT]\ncompute_driver = novadocker.virt.docker.DockerDriver\nmy_option = 1\n\n[other]\nx = y\n")

        let again = try s.hvctl("start", "docker")
        #expect(again.status == 0)
        #expect(again.stdout == "docker is already running; it is the active driver\n")

        let stop = try s.hvctl("stop")
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stdout.contains("and the daemon"))
        #expect(try Witness.unitProperty("docker.socket", "ActiveState") == "inactive")
        try await Task.sleep(for: .seconds(1))
        #expect(try !dockerUp(), "docker came back after stop")
    }

    @Test("stop leaves a daemon hvctl did not start running, unless --force")
    func stopLeavesForeignDaemon() throws {
        let s = HvctlHost("hvctl-docker-test")
        defer { s.remove() }
        // Running is not up: hvctl never stacked it here, so start runs the whole stack.
        func up() throws -> Bool? { (try s.json("status", "docker", "-o", "json") as? [String: Any])?["up"] as? Bool }
        #expect(try up() == false)
        let first = try s.hvctl("start", "docker")
        #expect(first.status == 0 && first.stdout.contains("docker started in"), "\(first.stdout)\(first.stderr)")
        #expect(try up() == true)
        #expect(try s.hvctl("start", "docker").stdout.contains("already running"))
        // Up but not the active driver: start makes it the active one again, a change; then none.
        #expect(try s.hvctl("start", "fake").status == 0)
        func startChanged() throws -> Bool? { (try s.json("start", "docker", "-o", "json") as? [String: Any])?["changed"] as? Bool }
        #expect(try startChanged() == true)
        #expect(try startChanged() == false)
        let stop = try s.hvctl("stop", "docker")
        #expect(stop.status == 0)
        #expect(stop.stderr.contains("left running"))
        #expect(try dockerUp())
        // Unstacked, though the daemon still runs: the next start stacks it again.
        #expect(try up() == false)
        let again = try s.hvctl("start", "docker")
        #expect(again.stdout.contains("docker started in"), "\(again.stdout)\(again.stderr)")
    }

    @Test("a masked docker.service fails the stack in one line naming the mask; hvctl does not unmask it")
    func maskedDaemon() throws {
        let s = HvctlHost("hvctl-docker-test")
        defer { s.remove() }
        try Witness.run(["systemctl", "stop", "docker.socket", "docker.service"])
        try Witness.run(["systemctl", "mask", "--runtime", "docker.service"])
        defer {
            _ = try? Witness.run(["systemctl", "unmask", "--runtime", "docker.service"])
            ensureDockerRunning()
        }
        let out = try s.hvctl("start", "docker")
        #expect(out.status != 0)
        #expect(out.stderr.hasSuffix("Error: stack of docker failed at 'install': docker.service is masked, so systemd will not start docker; hvctl does not unmask it: `systemctl unmask docker.service` if docker should run here\n"), "\(out.stderr)")
        #expect(try Witness.unitProperty("docker.service", "LoadState") == "masked")
        let status = try s.hvctl("status", "docker")
        #expect(status.stdout.contains("detail:    docker.service is masked (systemd will not start it)"), "\(status.stdout)")
    }

    @Test("instances launch, list and delete; cleanup removes hvctl's things and nothing else")
    func instancesAndCleanup() throws {
        let s = HvctlHost("hvctl-docker-test")
        defer { s.remove() }
        // hvctl owns the base image only if it imported it: a fresh one, on this sandbox's record.
        _ = try? docker("rmi", "-f", "hvctl/busybox:latest")
        #expect(try s.hvctl("start", "docker").status == 0)
        for name in ["inst-a", "inst-b", "inst-c"] {
            let out = try s.hvctl("instance", "launch", name)
            #expect(out.status == 0, "\(out.stderr)")
        }
        let list = try #require(try s.json("instance", "list", "-o", "json") as? [[String: Any]])
        #expect(list.compactMap { $0["name"] as? String }.filter { $0.hasPrefix("inst-") } == ["inst-a", "inst-b", "inst-c"])
        #expect(list.allSatisfy { $0["state"] as? String == "running" })
        #expect(try docker("inspect", "-f", "{{.Config.Labels}}", "inst-a").stdout.contains("org.hvctl.managed:true"))

        // The test's own things: unlabelled, or from hvctl's image (which copies its labels).
        let mine = (1...3).map { "mine-\($0)-" + uniqueName("c") }
        try docker("run", "-d", "--name", mine[0], "--network", "none", "hvctl/busybox:latest", "sleep", "600")
        try docker("create", "--name", mine[1], "hvctl/busybox:latest", "true")
        try docker("run", "-d", "--name", mine[2], "--label", "org.hvctl.run=foreign", "--network", "none", "hvctl/busybox:latest", "sleep", "600")
        let myVolume = uniqueName("vol-mine")
        let myNetwork = uniqueName("net-mine")
        try docker("volume", "create", myVolume)
        try docker("network", "create", myNetwork)
        // Things marked as hvctl's that hvctl has no record of (it makes no volumes or
        // networks): not hvctl's, so they stay.
        let theirVolume = uniqueName("vol-hvctl")
        let theirNetwork = uniqueName("net-hvctl")
        try docker("volume", "create", "--label", "org.hvctl.managed=true", theirVolume)
        try docker("network", "create", "--label", "org.hvctl.managed=true", theirNetwork)
        defer {
            for c in mine { _ = try? docker("rm", "-f", c) }
            _ = try? docker("volume", "rm", myVolume)
            _ = try? docker("network", "rm", myNetwork)
            _ = try? docker("volume", "rm", theirVolume)
            _ = try? docker("network", "rm", theirNetwork)
        }

        #expect(try s.hvctl("instance", "delete", mine[0]).stderr.contains("not created by hvctl"))
        let deleted = try s.hvctl("instance", "delete", "inst-c", "-o", "json")
        #expect(deleted.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(deleted.stdout.utf8)) as? [String: Any]
        #expect(object?["name"] as? String == "inst-c" && object?["driver"] as? String == "docker", "\(deleted.stdout)")
        #expect(object?["deleted"] as? Bool == true)
        #expect(try docker("inspect", "inst-c").status != 0)

        let dry = try s.hvctl("cleanup", "docker", "--dry-run")
        #expect(dry.stdout.contains("would remove container inst-a"))
        #expect(try docker("inspect", "inst-a").status == 0)

        // hvctl's image stays while the test's containers use it: marked, so the exit says so.
        let clean = try s.hvctl("cleanup", "docker")
        #expect(clean.status == 1, "\(clean.stderr)")
        #expect(clean.stderr.contains("1 marked item remain: docker: image hvctl/busybox:latest"), "\(clean.stderr)")
        for c in mine { #expect(try docker("inspect", c).status == 0, "\(c) was removed") }
        #expect(try docker("volume", "inspect", myVolume).status == 0)
        #expect(try docker("network", "inspect", myNetwork).status == 0)
        #expect(try docker("volume", "inspect", theirVolume).status == 0)
        #expect(try docker("network", "inspect", theirNetwork).status == 0)
        // This sandbox's instances are gone (others' on this daemon are not its to remove).
        for name in ["inst-a", "inst-b"] { #expect(try docker("inspect", name).status != 0, "\(name) is still there") }
        // hvctl's image stays while the test's containers use it, and says so.
        #expect(clean.stderr.contains("kept hvctl/busybox:latest"))
        for c in mine { try docker("rm", "-f", c) }
        #expect(try s.hvctl("cleanup", "docker").stdout.contains("removed image hvctl/busybox:latest"))
        #expect(try docker("image", "inspect", "hvctl/busybox:latest").status != 0, "hvctl's own base image stayed")

        let again = try s.hvctl("cleanup", "docker")
        #expect(again.status == 0)
        #expect(again.stdout.contains("docker: 0 items removed"))
    }

    @Test("with docker.service and docker.socket stopped: status says so, instance commands fail in one line, nothing restarts")
    func stoppedDaemon() throws {
        let s = HvctlHost("hvctl-docker-test")
        defer { s.remove() }
        try Witness.run(["systemctl", "stop", "docker.socket", "docker.service"])
        defer { ensureDockerRunning() }
        let status = try s.hvctl("status", "docker")
        #expect(status.status == 0)
        #expect(status.stdout.contains("docker.service is inactive; docker.socket is inactive"))
        for args in [["instance", "list", "--driver", "docker"], ["instance", "launch", "x1", "--driver", "docker"], ["instance", "delete", "x1", "--driver", "docker"]] {
            let out = try s.hvctl(args)
            #expect(out.status != 0)
            #expect(out.stderr.split(separator: "\n").count == 1, "\(out.stderr)")
            #expect(out.stderr.contains("docker is not running"))
        }
        let clean = try s.hvctl("cleanup", "docker")
        #expect(clean.status != 0)
        #expect(clean.stderr.contains("nothing cleaned"))
        #expect(try s.hvctl("cleanup", "docker", "--ignore-unreachable").status == 0)
        #expect(try !dockerUp())
        #expect(try Witness.unitProperty("docker.socket", "ActiveState") == "inactive")
    }

    @Test("a corrupt state file is a one-line error and is left as it was")
    func corruptState() throws {
        let s = HvctlHost("hvctl-docker-test")
        defer { s.remove() }
        try FileManager.default.createDirectory(atPath: s.state, withIntermediateDirectories: true)
        try "garbage".write(toFile: s.state + "/state.json", atomically: true, encoding: .utf8)
        let out = try s.hvctl("start", "fake")
        #expect(out.status != 0)
        #expect(out.stderr.contains("is not valid; it was left as it is"))
        #expect(try String(contentsOfFile: s.state + "/state.json", encoding: .utf8) == "garbage")
    }

    @Test("the fake driver succeeds without a hypervisor and records every call")
    func fake() throws {
        let s = HvctlHost("hvctl-docker-test")
        defer { s.remove() }
        #expect(try s.hvctl("start", "fake").stdout.contains("fake started"))
        #expect(try s.hvctl("instance", "launch", "f1").status == 0)
        #expect(try s.hvctl("instance", "list").stdout.contains("f1"))
        #expect(try s.hvctl("cleanup").stdout.contains("removed instance f1"))
        #expect(try s.hvctl("stop").status == 0)
        #expect(try s.fakeVerbs() == ["install", "configure", "start", "launch", "cleanup", "stop"])
        #expect(try String(contentsOfFile: s.computeConfig, encoding: .utf8).contains("compute_driver = fake.FakeDriver"))
    }
}

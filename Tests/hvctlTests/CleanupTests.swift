import Foundation
import TestSupport
import Testing

@Suite("hvctl cleanup over every driver and the host (test host)", .serialized)
struct CleanupTests {
    init() {
        ensureDockerRunning()
        ensureLibvirtRunning()
    }

    static let virsh = ["virsh", "-c", "qemu:///system"]
    static let sleeper = ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]

    @Test("20 containers and 5 domains without hvctl's mark, and a look-alike unit, survive every cleanup")
    func foreignResourcesSurvive() async throws {
        let h = HvctlHost("hvctl-cleanup-test")
        defer { h.remove() }
        // hvctl owns the base image only if it imported it: a fresh one, on this host's record.
        _ = try? Witness.run(["docker", "rmi", "-f", "hvctl/busybox:latest"])
        #expect(try h.hvctl("start", "docker").status == 0)
        #expect(try h.hvctl("start", "libvirt").status == 0)

        // A foreign image, imported without any label.
        let rootfs = h.dir + "/rootfs"
        try FileManager.default.createDirectory(atPath: rootfs + "/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: rootfs + "/bin/busybox")
        for tool in ["sh", "sleep"] { try FileManager.default.createSymbolicLink(atPath: rootfs + "/bin/\(tool)", withDestinationPath: "busybox") }
        let image = "hvctl-test/foreign:\(uniqueName("t"))"
        #expect(try Witness.run(["sh", "-c", "tar -C \(rootfs) -c . | docker import - \(image)"]).status == 0)

        // Decoys: labels that look like hvctl's but are not the full mark; six run from
        // hvctl's own image, so they carry the labels Docker copies from it.
        let decoys: [[String]] = [
            [], ["org.hvctl.managed=false"], ["org.hvctl.run=0123456789"], ["org.hvctl.instance=x"],
            ["org.hvctl.managed=true"], ["com.example.owner=ci"], ["org.hvctl.managed=yes", "org.hvctl.instance=y"],
        ]
        var foreign: [String] = []
        for i in 0..<20 {
            let name = uniqueName("foreign-\(i)")
            let fromHvctlImage = i >= 14
            let labels = (fromHvctlImage ? ["org.hvctl.run=deadbeef00"] : decoys[i % decoys.count]).flatMap { ["--label", $0] }
            let out = try Witness.run(
                ["docker", "run", "-d", "--name", name, "--network", "none"] + labels + [fromHvctlImage ? "hvctl/busybox:latest" : image] + Self.sleeper)
            try #require(out.status == 0, "\(out.stderr)")
            foreign.append(name)
        }
        defer {
            _ = try? Witness.run(["docker", "rm", "-f"] + foreign)
            _ = try? Witness.run(["docker", "rmi", image])
        }

        // Five domains: no metadata, another tool's metadata, and a look-alike namespace.
        var domains: [String] = []
        let metadata = [
            "", "<x:owner xmlns:x='https://example.com/ci'>ci</x:owner>",
            "<hvctl:instance xmlns:hvctl='https://example.com/not-hvctl' run='0123456789'/>", "", "",
        ]
        for i in 0..<5 {
            let name = uniqueName("hvctl-foreign-\(i)")
            let xml = h.dir + "/\(name).xml"
            try """
                <domain type='qemu'><name>\(name)</name><metadata>\(metadata[i])</metadata><memory unit='MiB'>32</memory>
                <os><type arch='x86_64' machine='pc'>hvm</type></os><devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>
                """.write(toFile: xml, atomically: true, encoding: .utf8)
            #expect(try Witness.run(Self.virsh + ["define", xml]).status == 0)
            if i < 3 { #expect(try Witness.run(Self.virsh + ["start", name]).status == 0) }
            domains.append(name)
        }
        defer {
            for d in domains {
                _ = try? Witness.run(Self.virsh + ["destroy", d])
                _ = try? Witness.run(Self.virsh + ["undefine", d])
            }
        }

        // An image built on hvctl's (it inherits hvctl's label) is the user's.
        let derived = "hvctl-test/derived:\(uniqueName("d"))"
        #expect(try Witness.run(["docker", "commit", foreign[19], derived]).status == 0)
        defer { _ = try? Witness.run(["docker", "rmi", derived]) }
        // A transient unit with an hvctl-like name, outside hvctl.slice.
        let transientLookalike = "hvctl-build1-extra-20-x.service"
        #expect(try Witness.run(["systemd-run", "--quiet", "--unit", transientLookalike, "/bin/sleep", "600"]).status == 0)
        defer { _ = try? Witness.run(["systemctl", "stop", transientLookalike]) }

        // A unit named as hvctl names hook units, but made from a unit file, failed.
        let lookalike = "hvctl-0123456789-extra-20-lookalike.service"
        let removeUnit = try installUnit(lookalike, "[Service]\nType=oneshot\nExecStart=/bin/false\n")
        defer { removeUnit() }
        _ = try Witness.run(["systemctl", "start", lookalike])
        #expect(try Witness.unitProperty(lookalike, "ActiveState") == "failed")

        // hvctl's own: two instances on each driver.
        let mine = [uniqueName("mine-a"), uniqueName("mine-b")]
        for name in mine {
            #expect(try h.hvctl("instance", "launch", name, "--driver", "docker").status == 0)
            #expect(try h.hvctl("instance", "launch", name, "--driver", "libvirt").status == 0)
        }

        func survivors() throws -> [String] {
            var gone: [String] = []
            for c in foreign where try Witness.run(["docker", "inspect", "-f", "{{.State.Running}}", c]).trimmed != "true" { gone.append(c) }
            for d in domains where try Witness.run(Self.virsh + ["dominfo", d]).status != 0 { gone.append(d) }
            if try Witness.unitProperty(lookalike, "LoadState") != "loaded" { gone.append(lookalike) }
            if try Witness.unitProperty(transientLookalike, "ActiveState") != "active" { gone.append(transientLookalike) }
            if try Witness.run(["docker", "image", "inspect", derived]).status != 0 { gone.append(derived) }
            return gone
        }

        let dry = try h.hvctl("cleanup", "--dry-run")
        #expect(dry.status == 0, "\(dry.stderr)")
        for name in mine { #expect(dry.stdout.contains("would remove container \(name)")); #expect(dry.stdout.contains("would remove domain \(name)")) }
        let keeps = dry.stdout.split(separator: "\n").first { $0.hasPrefix("docker: keeps what hvctl did not make:") } ?? ""
        let keptContainers = Int(keeps.split(separator: " ").drop { !$0.hasPrefix("make:") }.dropFirst().first ?? "") ?? 0
        #expect(keptContainers >= 20, "\(dry.stdout)")
        #expect(dry.stdout.contains(Substring("libvirt: keeps what hvctl did not make:")), "\(dry.stdout)")
        #expect(try survivors().isEmpty)

        // hvctl's image stays while the foreign containers use it: the exit says so.
        let first = try h.hvctl("cleanup")
        #expect(first.status == 1, "\(first.stderr)")
        #expect(first.stderr.contains("image hvctl/busybox:latest (containers hvctl did not create use it)"), "\(first.stderr)")
        for name in mine {
            #expect(try Witness.run(["docker", "inspect", name]).status != 0, "\(name) is still there")
            #expect(try Witness.run(Self.virsh + ["dominfo", name]).status != 0, "domain \(name) is still there")
        }
        #expect(try survivors().isEmpty, "cleanup removed foreign resources")

        // The reaper's narrower sweep and the per-driver cleanups leave them too.
        #expect(try h.hvctl("reap").status == 0)
        #expect(try h.hvctl("cleanup", "libvirt").status == 0)
        #expect(try h.hvctl("clean", "fake").status == 0)
        #expect(try survivors().isEmpty)

        // Without the users of hvctl's image, everything marked goes and the run exits 0;
        // a second run finds nothing, also exit 0.
        _ = try Witness.run(["docker", "rm", "-f"] + foreign.suffix(6))
        let second = try h.hvctl("cleanup")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("removed image hvctl/busybox:latest"))
        let clock = ContinuousClock()
        var third = Witness.Output(status: -1, stdout: "", stderr: "")
        let took = try clock.measure { third = try h.hvctl("cleanup") }
        #expect(third.status == 0, "\(third.stderr)")
        #expect(third.stdout.contains("docker: 0 items removed"), "\(third.stdout)")
        #expect(third.stdout.contains("libvirt: 0 items removed"), "\(third.stdout)")
        #expect(took < .seconds(10), "a cleanup with nothing to do took \(took)")
        for c in foreign.prefix(14) { #expect(try Witness.run(["docker", "inspect", c]).status == 0, "\(c) was removed") }
        for d in domains { #expect(try Witness.run(Self.virsh + ["dominfo", d]).status == 0, "\(d) was removed") }
    }

    @Test("two cleanups and a reap at once agree on a dead run: all succeed, and nothing of it remains")
    func concurrentCleanups() async throws {
        let h = HvctlHost("hvctl-cleanup-race")
        defer { h.remove() }
        #expect(try h.hvctl("start", "docker").status == 0)
        let dead = "race" + String(UUID().uuidString.prefix(6)).lowercased().filter(\.isHexDigit)
        let container = uniqueName("race")
        #expect(try runMarkedContainer(container, run: dead, state: h.state))
        defer { _ = try? Witness.run(["docker", "rm", "-f", container]) }
        let unit = "hvctl-\(dead)-extra-20-race.service"
        #expect(try Witness.run(["systemd-run", "--quiet", "--unit", unit, "--slice", "hvctl.slice", "/bin/sleep", "600"]).status == 0)
        defer { _ = try? Witness.run(["systemctl", "stop", unit]) }
        try FileManager.default.createDirectory(atPath: h.state + "/runs", withIntermediateDirectories: true)
        try #"{"command":"hvctl stack docker","endpoints":{"docker":"/run/docker.sock","libvirt":"qemu:///system"},"drivers":["docker"],"pid":1,"run":"\#(dead)","started":"2026-11-25T00:00:00Z"}"#
            .write(toFile: h.state + "/runs/\(dead).lease", atomically: false, encoding: .utf8)

        var processes: [(Process, Pipe)] = []
        for args in [["cleanup", "--ignore-unreachable"], ["cleanup", "--ignore-unreachable"], ["reap"]] {
            let err = Pipe()
            processes.append((try h.spawn(args, stderr: err), err))
        }
        for (p, err) in processes {
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "\(p.arguments ?? []): \(text)")
        }
        let left = try leftovers(of: dead, state: h.state)
        #expect(left.isEmpty, "\(left)")
    }

    @Test("cleanup stops and resets hvctl's units of runs not going, settles dead leases, removes stale files; --dry-run changes nothing")
    func hostLeftovers() async throws {
        let h = HvctlHost("hvctl-cleanup-test")
        defer { h.remove() }
        let dead = "c1ea0" + String(UUID().uuidString.prefix(5)).lowercased().filter(\.isHexDigit)
        let failed = "hvctl-\(dead)-extra-20-failed.service"
        let running = "hvctl-\(dead)-stack-30-running.service"
        #expect(try Witness.run(["systemd-run", "--quiet", "--unit", failed, "--slice", "hvctl.slice", "/bin/false"]).status == 0)
        #expect(try Witness.run(["systemd-run", "--quiet", "--unit", running, "--slice", "hvctl.slice", "/bin/sleep", "600"]).status == 0)
        defer {
            _ = try? Witness.run(["systemctl", "stop", running])
            _ = try? Witness.run(["systemctl", "reset-failed", failed, running])
        }
        // A lease nobody holds: a run that died unfinished, as after a reboot.
        try FileManager.default.createDirectory(atPath: h.state + "/runs", withIntermediateDirectories: true)
        try #"{"command":"hvctl stack docker","endpoints":{"docker":"/run/docker.sock","libvirt":"qemu:///system"},"pid":1,"run":"\#(dead)","started":"2026-11-25T00:00:00Z"}"#
            .write(toFile: h.state + "/runs/\(dead).lease", atomically: false, encoding: .utf8)
        // Temp files of atomic writes interrupted by a kill (pid 999999 does not exist).
        try FileManager.default.createDirectory(atPath: h.runtime, withIntermediateDirectories: true)
        for stale in [h.state + "/.state.json.999999.tmp", h.runtime + "/.devstack-functions.sh.999999.tmp"] {
            try "half".write(toFile: stale, atomically: false, encoding: .utf8)
        }
        _ = try await eventually { try Witness.unitProperty(failed, "ActiveState") == "failed" ? true : nil }

        let dry = try h.hvctl("cleanup", "--dry-run")
        #expect(dry.stdout.contains("would remove unit \(failed)"), "\(dry.stdout)")
        #expect(dry.stdout.contains("would remove unit \(running)"))
        #expect(dry.stdout.contains("would remove file \(h.state)/.state.json.999999.tmp"))
        #expect(try Witness.unitProperty(running, "ActiveState") == "active")
        #expect(FileManager.default.fileExists(atPath: h.state + "/runs/\(dead).lease"))

        // For scripts: a dry run says it changed nothing, whatever it would remove.
        let dryJSON = try JSONSerialization.jsonObject(with: Data(try h.hvctl("cleanup", "--dry-run", "-o", "json").stdout.utf8)) as? [String: Any]
        #expect(dryJSON?["dryRun"] as? Bool == true)
        #expect(dryJSON?["changed"] as? Bool == false, "\(String(describing: dryJSON))")
        #expect((dryJSON?["removedCount"] as? Int ?? 0) > 0)

        let clean = try h.hvctl("cleanup")
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(clean.stdout.contains("settled run \(dead)"), "\(clean.stdout)")
        #expect(try Witness.unitProperty(running, "LoadState") == "not-found")
        #expect(try Witness.unitProperty(failed, "LoadState") == "not-found")
        #expect(!FileManager.default.fileExists(atPath: h.state + "/runs/\(dead).lease"))
        #expect(!FileManager.default.fileExists(atPath: h.state + "/.state.json.999999.tmp"))
        #expect(!FileManager.default.fileExists(atPath: h.runtime + "/.devstack-functions.sh.999999.tmp"))

        let json = try h.hvctl("cleanup", "-o", "json")
        #expect(json.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["removedCount"] as? Int == 0, "\(json.stdout)")
        #expect((object?["remaining"] as? [Any])?.isEmpty == true)
        #expect(object?["changed"] as? Bool == false, "nothing left to remove: \(json.stdout)")
        #expect(object?["error"] is NSNull, "\(json.stdout)")

        // One more leftover: the cleanup that removes it changed the host.
        FileManager.default.createFile(atPath: h.state + "/.state.json.999998.tmp", contents: Data())
        let again = try JSONSerialization.jsonObject(with: Data(try h.hvctl("cleanup", "-o", "json").stdout.utf8)) as? [String: Any]
        #expect(again?["changed"] as? Bool == true, "\(String(describing: again))")
        #expect(again?["removedCount"] as? Int == 1)
    }
}

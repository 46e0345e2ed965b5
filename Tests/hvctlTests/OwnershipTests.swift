import Foundation
import TestSupport
import Testing

/// hvctl destroys only what it can show it created: the mark AND the record. Copies carry the
/// mark (a committed instance's containers, a domain defined from an instance's XML), names
/// are not id prefixes, and a run going under another state directory is still going.
@Suite("ownership by record, exact names, host-wide liveness (test host)", .serialized)
struct OwnershipTests {
    init() {
        ensureDockerRunning()
        ensureLibvirtRunning()
    }

    static let virsh = ["virsh", "-c", "qemu:///system"]

    @Test("containers run from a committed instance carry every hvctl label, and no command of hvctl's touches them")
    func committedInstance() throws {
        let h = HvctlHost("hvctl-own-commit")
        defer { h.remove() }
        #expect(try h.hvctl("start", "docker").status == 0)
        let original = uniqueName("orig")
        #expect(try h.hvctl("instance", "launch", original, "--driver", "docker").status == 0)
        let image = "hvctl-test/committed:\(uniqueName("i"))"
        let copy = uniqueName("copy")
        #expect(try Witness.run(["docker", "commit", original, image]).status == 0)
        #expect(try Witness.run(["docker", "run", "-d", "--name", copy, "--network", "none", image, "sleep", "600"]).status == 0)
        defer {
            _ = try? Witness.run(["docker", "rm", "-f", copy, original])
            _ = try? Witness.run(["docker", "rmi", image])
        }
        let labels = try Witness.run(["docker", "inspect", "-f", "{{json .Config.Labels}}", copy]).trimmed
        #expect(labels.contains("\"org.hvctl.instance\":\"\(original)\"") && labels.contains("org.hvctl.run"), "\(labels)")

        let list = try h.hvctl("instance", "list", "--driver", "docker")
        #expect(list.stdout.contains(original) && !list.stdout.contains(copy), "\(list.stdout)")
        #expect(try h.hvctl("instance", "delete", copy, "--driver", "docker").stderr.contains("not created by hvctl"))
        let dry = try h.hvctl("cleanup", "docker", "--dry-run")
        #expect(dry.stdout.contains("would remove container \(original)") && !dry.stdout.contains(copy), "\(dry.stdout)")
        #expect(try h.hvctl("stop", "docker").status == 0)
        #expect(try Witness.run(["docker", "inspect", "-f", "{{.State.Running}}", copy]).trimmed == "true", "stop stopped the copy")
        #expect(try Witness.run(["docker", "start", original]).status == 0)
        let clean = try h.hvctl("cleanup", "docker")
        #expect(try Witness.run(["docker", "inspect", original]).status != 0, "the original stayed: \(clean.stdout) \(clean.stderr)")
        #expect(try Witness.run(["docker", "inspect", "-f", "{{.State.Running}}", copy]).trimmed == "true", "cleanup removed the copy")
        // Neither the reaper nor a second cleanup takes it either.
        #expect(try h.hvctl("reap").status == 0)
        #expect(try Witness.run(["docker", "inspect", copy]).status == 0)
    }

    @Test("a domain defined from an instance's XML under another name keeps hvctl's metadata, and stays")
    func clonedDomain() throws {
        let h = HvctlHost("hvctl-own-clone")
        defer { h.remove() }
        #expect(try h.hvctl("start", "libvirt").status == 0)
        let original = uniqueName("vm")
        let clone = original + "-clone"
        #expect(try h.hvctl("instance", "launch", original, "--driver", "libvirt").status == 0)
        defer {
            for d in [original, clone] {
                _ = try? Witness.run(Self.virsh + ["destroy", d])
                _ = try? Witness.run(Self.virsh + ["undefine", d])
            }
        }
        // What virt-clone does: the same XML, another name, no UUID (libvirt makes a new one).
        let xml = try Witness.run(Self.virsh + ["dumpxml", original]).stdout
        #expect(xml.contains("https://hvctl.dev/xmlns/libvirt/1"))
        let cloned = xml.replacingOccurrences(of: "<name>\(original)</name>", with: "<name>\(clone)</name>")
            .split(separator: "\n").filter { !$0.contains("<uuid>") && !$0.contains("<id>") }.joined(separator: "\n")
        let file = "/tmp/\(clone).xml"
        try cloned.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(try Witness.run(Self.virsh + ["define", file]).status == 0)
        #expect(try Witness.run(Self.virsh + ["dumpxml", clone]).stdout.contains("https://hvctl.dev/xmlns/libvirt/1"))

        let list = try h.hvctl("instance", "list", "--driver", "libvirt")
        #expect(list.stdout.contains(original) && !list.stdout.contains(clone), "\(list.stdout)")
        #expect(try h.hvctl("instance", "delete", clone, "--driver", "libvirt").stderr.contains("not created by hvctl"))
        let clean = try h.hvctl("cleanup", "libvirt")
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(try Witness.run(Self.virsh + ["dominfo", original]).status != 0, "the original stayed")
        #expect(try Witness.run(Self.virsh + ["dominfo", clone]).status == 0, "cleanup removed the clone")
    }

    @Test("instance names are names: an id prefix finds nothing, and a name that is someone's id prefix can be launched")
    func namesAreNames() throws {
        let h = HvctlHost("hvctl-own-names")
        defer { h.remove() }
        #expect(try h.hvctl("start", "docker").status == 0)
        let web = uniqueName("web")
        #expect(try h.hvctl("instance", "launch", web, "--driver", "docker").status == 0)
        defer { _ = try? Witness.run(["docker", "rm", "-f", web]) }
        let id = try Witness.run(["docker", "inspect", "-f", "{{.Id}}", web]).trimmed
        let prefix = String(id.prefix(4))
        let delete = try h.hvctl("instance", "delete", prefix, "--driver", "docker")
        #expect(delete.status != 0)
        #expect(delete.stderr.contains("there is no docker instance named '\(prefix)'"), "\(delete.stderr)")
        #expect(try Witness.run(["docker", "inspect", "-f", "{{.State.Running}}", web]).trimmed == "true", "\(web) was deleted through its id prefix")
        let launch = try h.hvctl("instance", "launch", prefix, "--driver", "docker")
        defer { _ = try? Witness.run(["docker", "rm", "-f", prefix]) }
        #expect(launch.status == 0, "\(launch.stderr)")
        #expect(try h.hvctl("instance", "delete", prefix, "--driver", "docker").status == 0)
        #expect(try Witness.run(["docker", "inspect", "-f", "{{.State.Running}}", web]).trimmed == "true")
    }

    @Test("a run going under another HVCTL_STATE_DIR is seen as going: a plain cleanup spares its hook unit")
    func liveElsewhere() async throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-wait.sh", #"[[ "$1" == source ]] && return 0; touch "$OUT/started"; while [ ! -e "$OUT/go" ]; do sleep 0.1; done"#)
        let a = HvctlHost(top: f.top)
        let b = HvctlHost("hvctl-own-other")
        defer { b.remove() }
        let process = try a.spawn(["hooks", "run", "stack", "extra", "--driver", "fake", "--extras-dir", f.extras, "--env", "OUT=\(f.out)"])
        defer { if process.isRunning { process.terminate() } }
        let started = try await eventually(timeout: .seconds(20)) { f.read("started") }
        try #require(started != nil, "the hook never started")

        let sweep = try b.hvctl("cleanup", "--ignore-unreachable")
        #expect(sweep.stderr.contains("-extra-20-wait.service (run "), "\(sweep.stderr)")
        #expect(sweep.stderr.contains("is still going"), "\(sweep.stderr)")
        let units = try Witness.run(["systemctl", "list-units", "--no-legend", "--plain", "hvctl-*-extra-20-wait.service"]).trimmed
        #expect(units.contains(" activating "), "the other run's hook unit was stopped: \(units)")
        FileManager.default.createFile(atPath: f.out + "/go", contents: nil)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "the other run was disturbed")
    }
}

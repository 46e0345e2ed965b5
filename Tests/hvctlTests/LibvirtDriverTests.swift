import Foundation
import TestSupport
import Testing

func virsh(_ args: String...) throws -> Witness.Output { try Witness.run(["virsh", "-c", "qemu:///system"] + args) }

func libvirtUp() throws -> Bool { try Witness.unitProperty("libvirtd.service", "ActiveState") == "active" }

@Suite("hvctl on libvirt (real libvirtd and QEMU)", .serialized)
struct LibvirtDriverTests {
    init() { ensureLibvirtRunning() }

    @Test("start from a stopped daemon while Docker is active: libvirt comes up and becomes the active driver")
    func startFromStopped() throws {
        let s = HvctlHost("hvctl-libvirt-test")
        defer { s.remove(); ensureLibvirtRunning() }
        ensureDockerRunning()
        #expect(try s.hvctl("start", "docker").status == 0)
        try Witness.run(["systemctl", "stop", "libvirtd.socket", "libvirtd-ro.socket", "libvirtd-admin.socket", "libvirtd.service"])
        #expect(try !libvirtUp())

        let start = try s.hvctl("start", "libvirt")
        #expect(start.status == 0, "\(start.stderr)")
        #expect(start.stdout.contains("libvirt started in"))
        #expect(try libvirtUp())
        #expect(try virsh("version").status == 0)
        let status = try #require(try s.json("status", "-o", "json") as? [String: Any])
        #expect(status["active"] as? String == "libvirt")
        #expect(try dockerUp(), "starting libvirt must leave Docker up")
        let conf = try String(contentsOfFile: s.computeConfig, encoding: .utf8)
        #expect(conf.contains("compute_driver = libvirt.LibvirtDriver"))
        #expect(conf.contains("[libvirt]\nvirt_type = kvm") || conf.contains("[libvirt]\nvirt_type = qemu"))
        #expect(try s.hvctl("start", "libvirt").stdout == "libvirt is already running; it is the active driver\n")

        // hvctl started it, so hvctl stops it, with its sockets.
        let stop = try s.hvctl("stop", "libvirt")
        #expect(stop.stdout.contains("and the daemon"), "\(stop.stdout)\(stop.stderr)")
        #expect(try !libvirtUp())
        #expect(try Witness.unitProperty("libvirtd.socket", "ActiveState") == "inactive")
    }

    @Test("instances launch, list and delete; cleanup removes marked domains and spares the test's own")
    func instancesAndCleanup() throws {
        let s = HvctlHost("hvctl-libvirt-test")
        defer { s.remove() }
        #expect(try s.hvctl("start", "libvirt").status == 0)
        let names = ["lv-a-" + uniqueName("i"), "lv-b-" + uniqueName("i")]
        for n in names {
            let out = try s.hvctl("instance", "launch", n)
            #expect(out.status == 0, "\(out.stderr)")
        }
        let list = try #require(try s.json("instance", "list", "-o", "json") as? [[String: Any]])
        #expect(Set(list.compactMap { $0["name"] as? String }).isSuperset(of: names))
        #expect(try virsh("domstate", names[0]).trimmed == "running")
        #expect(try virsh("dumpxml", names[0]).stdout.contains("https://hvctl.dev/xmlns/libvirt/1"))

        let mine = uniqueName("lv-mine")
        let xml = FileManager.default.temporaryDirectory.appendingPathComponent(mine + ".xml").path
        try "<domain type='qemu'><name>\(mine)</name><memory unit='MiB'>32</memory><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>".write(toFile: xml, atomically: true, encoding: .utf8)
        try virsh("define", xml)
        try virsh("start", mine)
        defer {
            _ = try? virsh("destroy", mine)
            _ = try? virsh("undefine", mine)
        }
        #expect(try s.hvctl("instance", "delete", mine).stderr.contains("not created by hvctl"))
        #expect(try s.hvctl("instance", "delete", names[1]).status == 0)
        #expect(try virsh("domstate", names[1]).status != 0)

        #expect(try s.hvctl("cleanup", "libvirt", "--dry-run").stdout.contains("would remove domain \(names[0])"))
        let clean = try s.hvctl("cleanup", "libvirt")
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(try virsh("domstate", names[0]).status != 0)
        #expect(try virsh("domstate", mine).trimmed == "running")
        let leftovers = try virsh("list", "--all", "--name").stdout.split(separator: "\n").map(String.init)
        for d in leftovers where !d.isEmpty {
            #expect(!(try virsh("dumpxml", d).stdout.contains("hvctl.dev/xmlns")), "\(d) still carries hvctl's mark")
        }
        #expect(try s.hvctl("cleanup", "libvirt").stdout.contains("0 items removed"))
    }

    @Test("a domain that ignores the ACPI shutdown is destroyed after the grace period")
    func shutdownFallsBackToDestroy() throws {
        let s = HvctlHost("hvctl-libvirt-test")
        defer { s.remove() }
        #expect(try s.hvctl("start", "libvirt").status == 0)
        let name = uniqueName("lv-stubborn")
        #expect(try s.hvctl("instance", "launch", name).status == 0)
        defer { _ = try? s.hvctl("cleanup", "libvirt") }
        let stop = try s.hvctl("stop", "libvirt", "--grace", "1")
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stderr.contains("\(name) did not shut down within 1 s; destroying it"))
        #expect(try virsh("domstate", name).trimmed == "shut off")
    }

    @Test("a bad URI or a stopped daemon is a one-line error, and nothing is restarted")
    func failures() throws {
        let s = HvctlHost("hvctl-libvirt-test")
        defer { s.remove(); ensureLibvirtRunning() }
        let bad = try s.hvctl("status", "libvirt", "--libvirt-uri", "nosuchdriver:///x")
        #expect(bad.status != 0)
        #expect(bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
        #expect(bad.stderr.contains("nosuchdriver:///x"))

        try Witness.run(["systemctl", "stop", "libvirtd.socket", "libvirtd-ro.socket", "libvirtd-admin.socket", "libvirtd.service"])
        for args in [["instance", "list", "--driver", "libvirt"], ["instance", "launch", "x1", "--driver", "libvirt"]] {
            let out = try s.hvctl(args)
            #expect(out.status != 0)
            #expect(out.stderr.split(separator: "\n").count == 1, "\(out.stderr)")
            #expect(out.stderr.contains("libvirt is not running"))
        }
        #expect(try s.hvctl("status", "libvirt").stdout.contains("libvirtd.service is inactive"))
        #expect(try s.hvctl("cleanup", "libvirt").stderr.contains("nothing cleaned"))
        #expect(try !libvirtUp())
    }
}

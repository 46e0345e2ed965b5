import Foundation
import TestSupport
import Testing

/// Instances that really run: a booted Linux guest on libvirt, a container's own command.
@Suite("instances that really run (real libvirtd, QEMU, dockerd)", .serialized)
struct InstanceRunTests {
    init() { ensureLibvirtRunning() }

    static let guestDirectory = "/var/lib/hvctl/libvirt"
    /// The bound this suite holds a guest's boot to: TCG (the test host has no KVM) boots
    /// hvctl's guest in about 6 s alone; two cores shared with the rest of the suite.
    static let readyBound: Duration = .seconds(120)

    @Test("a libvirt guest boots Linux to its ready line on hvctl's own network; wait, logs, list; cleanup removes it with its console log and network")
    func guestBoots() throws {
        let h = HvctlHost("hvctl-guest")
        defer { h.remove() }
        // libvirt's default network down: hvctl makes its own, and must remove only that.
        _ = try virsh("net-destroy", "default")
        defer { _ = try? virsh("net-start", "default") }
        let foreign = uniqueName("foreign-net")
        let netXML = h.dir + "-net.xml"
        try FileManager.default.createDirectory(atPath: h.dir, withIntermediateDirectories: true)
        try "<network><name>\(foreign)</name><bridge name='hvt\(foreign.suffix(8))'/></network>".write(toFile: netXML, atomically: true, encoding: .utf8)
        #expect(try virsh("net-define", netXML).status == 0)
        defer { _ = try? virsh("net-undefine", foreign) }

        #expect(try h.hvctl("start", "libvirt").status == 0)
        let name = uniqueName("vm")
        let (launch, took) = try h.timed(["instance", "launch", name, "--driver", "libvirt", "--wait", "--timeout", "\(Self.readyBound.components.seconds)"])
        #expect(launch.status == 0, "\(launch.stderr)")
        #expect(launch.stdout.contains("\(name) is ready after"), "\(launch.stdout)")
        #expect(launch.stderr.contains("making hvctl's libvirt network 'hvctl'"), "\(launch.stderr)")
        #expect(took < Self.readyBound)

        // Ready already: wait answers at once.
        let (wait, waited) = try h.timed(["instance", "wait", name, "--driver", "libvirt"])
        #expect(wait.status == 0, "\(wait.stderr)")
        #expect(waited < .seconds(5))

        // The console: the kernel's own boot lines, then the guest's init.
        let logs = try h.hvctl("instance", "logs", name, "--driver", "libvirt")
        #expect(logs.status == 0)
        for line in ["Linux version", "Run /init as init process", "hvctl-guest: ready"] {
            #expect(logs.stdout.contains(line), "no '\(line)' in the console log")
        }
        let tail = try h.hvctl("instance", "logs", name, "--driver", "libvirt", "-n", "2")
        #expect(tail.stdout.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast().count == 2, "\(tail.stdout)")

        // Its address, as libvirt's DHCP leased it (virsh as witness).
        let list = try #require(try JSONSerialization.jsonObject(with: Data(try h.hvctl("instance", "list", "--driver", "libvirt", "-o", "json").stdout.utf8)) as? [[String: Any]])
        let me = try #require(list.first { $0["name"] as? String == name })
        let address = try #require(me["address"] as? String)
        #expect(address.range(of: #"^\d+\.\d+\.\d+\.\d+/\d+$"#, options: .regularExpression) != nil)
        #expect(try virsh("domifaddr", name, "--source", "lease").stdout.contains(String(address.split(separator: "/")[0])))
        #expect(me["state"] as? String == "running" && me["run"] is String && (me["image"] as? String ?? "").contains("hvctl guest"))
        #expect(try virsh("net-info", "hvctl").status == 0)
        let id = try #require(me["id"] as? String)
        let log = "\(Self.guestDirectory)/console/\(id).log"
        #expect(FileManager.default.fileExists(atPath: log))

        // The console, driven as a user at a terminal would: a shell answers, Ctrl-] detaches.
        let terminal = try PseudoTerminal([hvctlBinary, "instance", "console", name, "--driver", "libvirt"], environment: h.env)
        #expect(terminal.waitFor("escape character is ^]", timeout: .seconds(10)), "\(terminal.shown)")
        terminal.type("\r")
        terminal.type("echo hvctl-$((6*7))-from-the-guest\r")
        #expect(terminal.waitFor("hvctl-42-from-the-guest", timeout: .seconds(30)), "\(terminal.shown)")
        terminal.type([0x1d])
        #expect(terminal.exitStatus(timeout: .seconds(10)) == 0, "\(terminal.shown)")
        #expect(terminal.shown.contains("detached from \(name)"))
        #expect(try virsh("domstate", name).trimmed == "running", "detaching leaves it running")

        let cleanup = try h.hvctl("cleanup", "libvirt")
        #expect(cleanup.status == 0, "\(cleanup.stderr)")
        #expect(cleanup.stdout.contains("removed network hvctl"), "\(cleanup.stdout)")
        #expect(try virsh("domstate", name).status != 0)
        #expect(!FileManager.default.fileExists(atPath: log))
        #expect(try virsh("net-info", "hvctl").status != 0)
        #expect(try virsh("net-info", foreign).status == 0, "a network hvctl did not make must stay")
        #expect(try virsh("net-info", "default").status == 0)
    }

    @Test("a guest that stops before it is ready fails the wait in one line; a name hvctl did not make is refused")
    func waitFailsClearly() throws {
        let h = HvctlHost("hvctl-guest-bad")
        defer { h.remove() }
        #expect(try h.hvctl("start", "libvirt").status == 0)
        let name = uniqueName("vm-panic")
        // No initrd: the kernel panics at once (no root), and panic=-1 with on_reboot=destroy
        // is not given to a --kernel guest, so it reboots; the wait is bounded either way.
        let kernel = try #require(try FileManager.default.contentsOfDirectory(atPath: "/var/cache/hvctl/guest-kernel/boot").first { $0.hasPrefix("vmlinuz-") })
        let launch = try h.hvctl(
            "instance", "launch", name, "--driver", "libvirt", "--kernel", "/var/cache/hvctl/guest-kernel/boot/\(kernel)",
            "--cmdline", "console=ttyS0 panic=1", "--wait", "--timeout", "20")
        #expect(launch.status != 0)
        #expect(launch.stderr.split(separator: "\n").last.map { $0.contains("not ready") || $0.contains("ended before it was ready") } == true, "\(launch.stderr)")
        #expect(try h.hvctl("instance", "logs", name, "--driver", "libvirt").stdout.contains("Kernel panic"))
        #expect(try h.hvctl("instance", "wait", "no-such-" + name, "--driver", "libvirt").stderr.contains("there is no libvirt instance"))
        #expect(try h.hvctl("instance", "delete", name, "--driver", "libvirt").status == 0)
    }

    @Test("a container runs a given local image and command; its logs and address show; wait returns at once")
    func containerCommand() throws {
        ensureDockerRunning()
        let h = HvctlHost("hvctl-ctr")
        defer { h.remove() }
        #expect(try h.hvctl("start", "docker").status == 0)
        // hvctl's base image, made by a first plain launch, is the local image named.
        let first = uniqueName("c-base")
        #expect(try h.hvctl("instance", "launch", first, "--driver", "docker").status == 0)
        let name = uniqueName("c-cmd")
        let launch = try h.hvctl(
            "instance", "launch", name, "--driver", "docker", "--image", "hvctl/busybox:latest", "--network", "bridge", "--wait", "--",
            "sh", "-c", "echo hello from $(hostname); sleep 600")
        #expect(launch.status == 0, "\(launch.stderr)")
        #expect(try h.hvctl("instance", "wait", name, "--driver", "docker").status == 0)
        var logs = ""
        for _ in 0..<50 where !logs.contains("hello from") {
            logs = try h.hvctl("instance", "logs", name, "--driver", "docker").stdout
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(logs.contains("hello from"), "\(logs)")
        let inspect = try Witness.run(["docker", "inspect", "-f", "{{json .Config.Cmd}} {{.HostConfig.NetworkMode}}", name]).trimmed
        #expect(inspect.contains("echo hello from") && inspect.hasSuffix("bridge"), "\(inspect)")
        let list = try #require(try JSONSerialization.jsonObject(with: Data(try h.hvctl("instance", "list", "--driver", "docker", "-o", "json").stdout.utf8)) as? [[String: Any]])
        #expect((list.first { $0["name"] as? String == name }?["address"] as? String)?.contains("/") == true)
        #expect(try h.hvctl("instance", "launch", uniqueName("c-k"), "--driver", "docker", "--kernel", "/x").stderr.contains("boot no kernel"))

        // The console: a shell in the container reads what is typed; Ctrl-] detaches.
        let shell = uniqueName("c-sh")
        #expect(try h.hvctl("instance", "launch", shell, "--driver", "docker", "--image", "hvctl/busybox:latest", "--", "sh").status == 0)
        let terminal = try PseudoTerminal([hvctlBinary, "instance", "console", shell, "--driver", "docker"], environment: h.env)
        #expect(terminal.waitFor("escape character is ^]", timeout: .seconds(10)), "\(terminal.shown)")
        terminal.type("echo hvctl-$((6*7))-in-the-container\n")
        #expect(terminal.waitFor("hvctl-42-in-the-container", timeout: .seconds(15)), "\(terminal.shown)")
        terminal.type([0x1d])
        #expect(terminal.exitStatus(timeout: .seconds(10)) == 0, "\(terminal.shown)")
        #expect(try Witness.run(["docker", "inspect", "-f", "{{.State.Running}}", shell]).trimmed == "true", "detaching leaves it running")
        #expect(try h.hvctl("cleanup", "docker").status == 0)
    }

    @Test("a VM boots with a qcow2 image on an overlay hvctl makes through libvirt's storage API; cleanup removes the overlay and console log, never the base image or a foreign file")
    func overlayBoot() throws {
        let h = HvctlHost("hvctl-overlay")
        defer { h.remove() }
        #expect(try h.hvctl("start", "libvirt").status == 0)
        // hvctl's initramfs is built by a launch; this guest only makes it.
        let maker = uniqueName("vm-maker")
        #expect(try h.hvctl("instance", "launch", maker, "--driver", "libvirt").status == 0)
        #expect(try h.hvctl("instance", "delete", maker, "--driver", "libvirt").status == 0)
        let initrd = try #require(try FileManager.default.contentsOfDirectory(atPath: Self.guestDirectory + "/initramfs").first { $0.hasSuffix(".cpio") })
        let kernel = try #require(try FileManager.default.contentsOfDirectory(atPath: "/var/cache/hvctl/guest-kernel/boot").first { $0.hasPrefix("vmlinuz-") })

        let images = "/var/tmp/" + uniqueName("hvctl-images")
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: images) }
        let base = images + "/base.qcow2"
        #expect(try Witness.run(["qemu-img", "create", "-q", "-f", "qcow2", base, "64M"]).status == 0)
        chmod(base, 0o644)
        let before = try Witness.run(["sha256sum", base]).stdout
        let foreign = Self.guestDirectory + "/images/" + uniqueName("foreign") + ".qcow2"
        try Data("not hvctl's".utf8).write(to: URL(fileURLWithPath: foreign))
        defer { try? FileManager.default.removeItem(atPath: foreign) }

        let name = uniqueName("vm-disk")
        let launch = try h.hvctl(
            "instance", "launch", name, "--driver", "libvirt", "--image", base, "--kernel", "/var/cache/hvctl/guest-kernel/boot/\(kernel)",
            "--initrd", Self.guestDirectory + "/initramfs/" + initrd, "--cmdline", "console=ttyS0 panic=-1", "--wait", "--timeout", "\(Self.readyBound.components.seconds)")
        #expect(launch.status == 0, "\(launch.stderr)")
        let disks = try virsh("domblklist", name).stdout
        #expect(disks.contains(Self.guestDirectory + "/images/"), "\(disks)")
        let overlay = try #require(disks.split(separator: "\n").compactMap { $0.split(separator: " ", omittingEmptySubsequences: true).last }.first { $0.hasSuffix(".qcow2") })
        #expect(try Witness.run(["qemu-img", "info", "-U", String(overlay)]).stdout.contains("backing file: \(base)"))
        #expect(try h.hvctl("instance", "logs", name, "--driver", "libvirt").stdout.contains("[vda]"), "the guest sees its disk")
        #expect(try virsh("pool-info", "hvctl-images").status == 0)
        let id = try virsh("domuuid", name).trimmed
        #expect(FileManager.default.fileExists(atPath: "\(Self.guestDirectory)/console/\(id).log"))

        let cleanup = try h.hvctl("cleanup", "libvirt")
        #expect(cleanup.status == 0, "\(cleanup.stderr)")
        #expect(!FileManager.default.fileExists(atPath: String(overlay)))
        #expect(try virsh("pool-info", "hvctl-images").status != 0)
        #expect(try Witness.run(["sha256sum", base]).stdout == before, "the base image is never written")
        #expect(FileManager.default.fileExists(atPath: foreign), "a file hvctl did not make stays")
        #expect(!FileManager.default.fileExists(atPath: "\(Self.guestDirectory)/console/\(id).log"))

        // QEMU's user cannot reach an image in a closed directory: said before anything is made.
        let closed = "/var/tmp/" + uniqueName("hvctl-closed")
        try FileManager.default.createDirectory(atPath: closed, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: closed) }
        try FileManager.default.copyItem(atPath: base, toPath: closed + "/base.qcow2")
        let refused = try h.hvctl("instance", "launch", uniqueName("vm-closed"), "--driver", "libvirt", "--image", closed + "/base.qcow2")
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("QEMU runs as uid") && refused.stderr.contains(closed), "\(refused.stderr)")

        // An image another user owns: the overlay names its path, which that user could point
        // at another guest's overlay after the check. Refused, and nothing is made; nobody
        // else may list the overlays' names either.
        let attacker = try Attacker()
        defer { attacker.remove() }
        let theirs = attacker.home + "/img.qcow2"
        try #require(try attacker.as_(["qemu-img", "create", "-q", "-f", "qcow2", theirs, "64M"]).status == 0)
        let stolen = uniqueName("vm-theirs")
        let refusedTheirs = try h.hvctl("instance", "launch", stolen, "--driver", "libvirt", "--image", theirs)
        #expect(refusedTheirs.status != 0)
        #expect(refusedTheirs.stderr.contains("refusing to boot the image") && refusedTheirs.stderr.contains("owned by uid \(attacker.uid)"), "\(refusedTheirs.stderr)")
        #expect(try virsh("dominfo", stolen).status != 0, "no domain was made")
        // The same for a kernel QEMU would reopen at every start.
        let theirKernel = attacker.home + "/vmlinuz"
        try #require(try attacker.as_(["cp", "/var/cache/hvctl/guest-kernel/boot/\(kernel)", theirKernel]).status == 0)
        let refusedKernel = try h.hvctl("instance", "launch", stolen, "--driver", "libvirt", "--kernel", theirKernel)
        #expect(refusedKernel.status != 0)
        #expect(refusedKernel.stderr.contains("refusing to boot the kernel") && refusedKernel.stderr.contains("owned by uid \(attacker.uid)"), "\(refusedKernel.stderr)")
        #expect(try virsh("dominfo", stolen).status != 0, "no domain was made")
        #expect(try attacker.as_(["ls", Self.guestDirectory + "/images"]).status != 0, "images/ is not listable by others")
    }
}

import Core
import Foundation
import Glibc
import Testing
@testable import Hypervisors

@Suite("INI editing, host state, tarballs")
struct SupportTests {
    @Test("setting a key keeps every other line, comment and key")
    func iniSet() {
        var ini = IniFile(text: """
            # nova.conf, edited by hand
            [DEFAULT]
            ; the driver
            compute_driver = libvirt.LibvirtDriver
            debug = true

            [libvirt]
            virt_type = kvm
            """)
        ini.set("DEFAULT", "compute_driver", "fake.FakeDriver")
        ini.set("libvirt", "cpu_mode", "none")
        ini.set("new", "key", "v=1")
        #expect(ini.text == """
            # nova.conf, edited by hand
            [DEFAULT]
            ; the driver
            compute_driver = fake.FakeDriver
            debug = true

            [libvirt]
            cpu_mode = none
            virt_type = kvm

            [new]
            key = v=1

            """)
        #expect(ini.value("new", "key") == "v=1")
        #expect(ini.value("DEFAULT", "debug") == "true")
        #expect(ini.value("DEFAULT", "missing") == nil)
    }

    @Test("a CRLF file keeps its line endings, and a header with a comment is the section it names")
    func iniCRLFAndCommentedHeader() {
        var crlf = IniFile(text: "[DEFAULT]\r\ncompute_driver = old\r\nx = 1\r\n")
        crlf.set("DEFAULT", "compute_driver", "new")
        #expect(crlf.text == "[DEFAULT]\r\ncompute_driver = new\r\nx = 1\r\n")
        var commented = IniFile(text: "[DEFAULT] # main\ncompute_driver = old\n[libvirt] ; hv\nvirt_type = kvm\n")
        commented.set("DEFAULT", "compute_driver", "new")
        commented.set("libvirt", "virt_type", "qemu")
        #expect(commented.text == "[DEFAULT] # main\ncompute_driver = new\n[libvirt] ; hv\nvirt_type = qemu\n")
    }

    @Test("rewriting a config keeps its owner, group, mode and symlink; a non-regular path is refused by name")
    func iniWriteKeepsFile() throws {
        let dir = "/tmp/hvctl-ini-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o755)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let real = dir + "/nova.conf"
        try "[DEFAULT]\ncompute_driver = old\n".write(toFile: real, atomically: false, encoding: .utf8)
        chown(real, 0, 4242)
        chmod(real, 0o640)
        symlink(real, dir + "/link.conf")
        var ini = try IniFile.load(dir + "/link.conf")
        ini.set("DEFAULT", "compute_driver", "new")
        try ini.write(to: dir + "/link.conf")
        var st = stat()
        #expect(lstat(dir + "/link.conf", &st) == 0 && st.st_mode & S_IFMT == S_IFLNK, "the symlink was replaced")
        #expect(stat(real, &st) == 0 && st.st_uid == 0 && st.st_gid == 4242 && st.st_mode & 0o7777 == 0o640, "owner or mode changed")
        #expect(try String(contentsOfFile: real, encoding: .utf8) == "[DEFAULT]\ncompute_driver = new\n")
        // A directory and a FIFO are refused by name, and nothing is written.
        mkdir(dir + "/d.conf", 0o755)
        mkfifo(dir + "/fifo.conf", 0o644)
        for bad in [dir + "/d.conf", dir + "/fifo.conf"] {
            #expect(throws: IniFileError.self) { _ = try IniFile.load(bad) }
            #expect { try ini.write(to: bad) } throws: { "\($0)".contains(bad) }
        }
        #expect((try? FileManager.default.contentsOfDirectory(atPath: dir))?.contains { $0.hasSuffix(".tmp") } == false)
    }

    @Test("state is written atomically, read back, and a corrupt file is reported and left alone")
    func state() throws {
        let dir = "/tmp/hvctl-state-test-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = StateStore(directory: dir)
        #expect(try store.load() == HostState())
        try store.update { $0.activeDriver = "docker"; $0[driver: "docker"].startedByHvctl = true }
        #expect(try store.load().activeDriver == "docker")
        #expect(try store.load()[driver: "docker"].startedByHvctl)
        // No temp files left; the lock that serialises updates stays.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == [".state.lock", "state.json"])

        try Data("{not json".utf8).write(to: URL(fileURLWithPath: store.file))
        #expect(throws: StateError.corrupt(path: store.file)) { try store.load() }
        #expect(throws: StateError.self) { try store.update { $0.activeDriver = "fake" } }
        #expect(String(decoding: FileManager.default.contents(atPath: store.file)!, as: UTF8.self) == "{not json")
    }

    @Test("the base image rootfs is a tarball tar(1) reads, holding busybox and its applets")
    func rootfs() throws {
        let path = "/tmp/hvctl-rootfs-\(UUID().uuidString.prefix(8)).tar"
        defer { unlink(path) }
        try BaseImage.rootfs().write(to: URL(fileURLWithPath: path))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/tar")
        p.arguments = ["-tvf", path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let listing = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(listing.contains("-rwxr-xr-x root/root"))
        #expect(listing.contains("bin/busybox"))
        #expect(listing.contains("bin/sh -> busybox"))
    }

    @Test("instance names")
    func names() {
        #expect(throws: Never.self) { try InstanceName.validate("web-1.a_b") }
        for bad in ["", "-x", "a b", "a/b", String(repeating: "a", count: 64), "ü"] {
            #expect(throws: HypervisorError.self) { try InstanceName.validate(bad) }
        }
    }
}

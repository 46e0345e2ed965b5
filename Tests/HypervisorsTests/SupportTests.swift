import Foundation
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

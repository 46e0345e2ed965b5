import Foundation
import Hypervisors
import TestSupport
import Testing

@Suite("libvirt through its C API")
struct LibvirtConnectionTests {
    /// test:///default is in-memory and shared by every connection in this process, so each
    /// test uses its own domain names.
    func testDomainXML(_ name: String) -> String {
        "<domain type='test'><name>\(name)</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>"
    }

    @Test("test:///default lists its running 'test' domain and reports versions")
    func testDriver() async throws {
        let c = try await LibvirtConnection.open("test:///default")
        let domains = try await c.domains()
        let test = try #require(domains.first { $0.name == "test" })
        #expect(test.state == .running)
        #expect(test.persistent)
        #expect(test.uuid.count == 36)
        let hv = try await c.hypervisor()
        #expect(hv.type == "TEST")
        let lib = try await c.libraryVersion()
        #expect(lib >= LibvirtVersion(major: 9, minor: 0, release: 0))
    }

    @Test("define, start, destroy and undefine a domain on test:///default")
    func lifecycleOnTestDriver() async throws {
        let c = try await LibvirtConnection.open("test:///default")
        let name = uniqueName("hvctl-test-dom")
        let defined = try await c.define(xml: testDomainXML(name))
        #expect(defined.name == name)
        #expect(defined.state == .shutOff)
        try await c.start(name)
        #expect(try await c.domain(named: name).state == .running)
        try await c.destroy(name)
        #expect(try await c.domain(named: name).state == .shutOff)
        try await c.undefine(name)
        #expect(try await c.domains().contains { $0.name == name } == false)
    }

    @Test("libvirt errors carry libvirt's message and nothing is printed to stderr")
    func errorsAreQuiet() async throws {
        let c = try await LibvirtConnection.open("test:///default")
        let name = uniqueName("hvctl-test-missing")

        // Point fd 2 at a file while libvirt fails, then look at what landed there.
        let capture = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("stderr")).path
        let fd = open(capture, O_CREAT | O_TRUNC | O_WRONLY, 0o600)
        let saved = dup(2)
        dup2(fd, 2)
        var caught: LibvirtError?
        do { try await c.start(name) } catch let e as LibvirtError { caught = e }
        var redefined: LibvirtError?
        do { try await c.define(xml: "<domain type='test'><name>broken") } catch let e as LibvirtError { redefined = e }
        dup2(saved, 2)
        close(saved)
        close(fd)
        defer { unlink(capture) }

        #expect(caught == .noSuchDomain(name))
        let xmlError = try #require(redefined)
        #expect("\(xmlError)".contains("libvirt define failed"))
        #expect(try String(contentsOfFile: capture, encoding: .utf8) == "")
    }

    @Test("a bad URI is a connect error with libvirt's reason")
    func badURI() async throws {
        do {
            _ = try await LibvirtConnection.open("nosuchdriver:///x")
            Issue.record("open should have failed")
        } catch let error as LibvirtError {
            guard case .connect(let uri, let message) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(uri == "nosuchdriver:///x")
            #expect(!message.isEmpty)
        }
    }

    @Test("a QEMU domain on qemu:///system starts, is seen running, is destroyed and undefined")
    func qemuSystem() async throws {
        let c = try await LibvirtConnection.open("qemu:///system")
        let name = uniqueName("hvctl-test-vm")
        let type = FileManager.default.isWritableFile(atPath: "/dev/kvm") ? "kvm" : "qemu"
        let xml = """
            <domain type='\(type)'>
              <name>\(name)</name>
              <memory unit='MiB'>64</memory>
              <vcpu>1</vcpu>
              <os><type arch='x86_64' machine='pc'>hvm</type></os>
              <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
            </domain>
            """
        try await c.define(xml: xml)
        defer {
            _ = try? Witness.run(["virsh", "-c", "qemu:///system", "destroy", name])
            _ = try? Witness.run(["virsh", "-c", "qemu:///system", "undefine", name])
        }
        try await c.start(name)
        let running = try await c.domain(named: name)
        #expect(running.state == .running)
        #expect(running.id != nil)
        #expect(try Witness.run(["virsh", "-c", "qemu:///system", "domstate", name]).trimmed == "running")

        try await c.destroy(name)
        #expect(try await c.domain(named: name).state == .shutOff)
        try await c.undefine(name)
        #expect(try Witness.run(["virsh", "-c", "qemu:///system", "domstate", name]).status != 0)
        await #expect(throws: LibvirtError.noSuchDomain(name)) { try await c.domain(named: name) }
    }
}

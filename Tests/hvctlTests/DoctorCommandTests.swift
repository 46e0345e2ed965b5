import Foundation
import TestSupport
import Testing

struct Report: Decodable {
    struct Check: Decodable {
        var name: String, status: String, detail: String, fix: String?, required: Bool
    }
    var driver: String, driverSource: String, healthy: Bool, checks: [Check]
    subscript(name: String) -> Check? { checks.first { $0.name == name } }
}

/// `hvctl doctor -o json` on a host of its own: an empty state directory, so no active
/// driver recorded by other tests leaks in.
func doctor(_ arguments: [String] = [], environment: [String: String] = [:]) throws -> (Witness.Output, Report?) {
    let h = HvctlHost("hvctl-doctor-test")
    defer { h.remove() }
    let out = try h.hvctl(["doctor", "-o", "json"] + arguments, environment: environment)
    return (out, try? JSONDecoder().decode(Report.self, from: Data(out.stdout.utf8)))
}

func waitForDocker() async throws {
    let up = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
        try Witness.run(["curl", "-sf", "--unix-socket", "/run/docker.sock", "http://docker/_ping"]).status == 0 ? true : nil
    }
    #expect(up == true, "dockerd did not come back")
}

@Suite("hvctl doctor (the built binary, in the test host)", .serialized)
struct DoctorCommandTests {
    init() { ensureDockerRunning() }

    @Test("on a full host every check is green and it exits 0")
    func allGreen() throws {
        let (out, report) = try doctor()
        #expect(out.status == 0, "\(out.stderr)")
        let r = try #require(report, "not JSON: \(out.stdout)")
        #expect(r.healthy)
        #expect(r.driver == "libvirt")
        #expect(r.driverSource == "default")
        for name in ["systemd", "journal", "docker", "libvirt"] {
            #expect(r[name]?.status == "ok", "\(name): \(r[name]?.detail ?? "missing")")
        }
        let systemdMajor = try Witness.run(["systemctl", "--version"]).stdout.split(separator: " ")[1]
        #expect(r["systemd"]?.detail.hasPrefix("systemd \(systemdMajor)") == true)
        #expect(r["docker"]?.detail.contains("API 1.") == true)
        #expect(r["libvirt"]?.detail.contains("QEMU") == true)
        #expect(["ok", "warn"].contains(r["kvm"]?.status))
    }

    @Test("the driver comes from --driver, else VIRT_DRIVER, else libvirt")
    func driverSelection() throws {
        let (_, fromEnv) = try doctor(environment: ["VIRT_DRIVER": "docker"])
        #expect(fromEnv?.driver == "docker")
        #expect(fromEnv?.driverSource == "VIRT_DRIVER")
        let (_, fromFlag) = try doctor(["--driver", "fake"], environment: ["VIRT_DRIVER": "docker"])
        #expect(fromFlag?.driver == "fake")
        #expect(fromFlag?["docker"]?.required == false)
    }

    @Test("an unknown driver is a one-line error and a non-zero exit")
    func unknownDriver() throws {
        let h = HvctlHost("hvctl-doctor-test")
        defer { h.remove() }
        let out = try h.hvctl("doctor", "--driver", "xen")
        #expect(out.status != 0)
        #expect(out.stdout.isEmpty)
        let lines = out.stderr.split(separator: "\n").filter { !$0.isEmpty && !$0.hasPrefix("Usage") && !$0.hasPrefix("  See") }
        #expect(lines.count == 1, "\(out.stderr)")
        #expect(out.stderr.contains("unknown driver 'xen'"))
    }

    @Test("without systemd it exits non-zero with a one-line reason")
    func noSystemd() throws {
        let h = HvctlHost("hvctl-doctor-test")
        defer { h.remove() }
        // Hide the system bus and the manager's private socket in a private mount namespace.
        let out = try h.hvctl(["doctor"], wrapper: [
            "unshare", "-m", "sh", "-c", "mount -t tmpfs none /run/dbus && mount -t tmpfs none /run/systemd && exec \"$0\" \"$@\"",
        ])
        #expect(out.status == 1)
        let errorLines = out.stderr.split(separator: "\n")
        #expect(errorLines.count == 1, "\(out.stderr)")
        #expect(errorLines.first?.hasPrefix("hvctl: not ready for libvirt: systemd: systemd is not reachable") == true)
        #expect(out.stdout.contains("fail    systemd"))
    }

    @Test("a stopped Docker is reported and not started, not even through docker.socket")
    func stoppedDockerStaysStopped() async throws {
        try Witness.run(["systemctl", "stop", "docker.socket", "docker.service"])
        defer { ensureDockerRunning() }
        let (stopped, r1) = try doctor(["--driver", "docker"])
        #expect(stopped.status == 1)
        #expect(r1?["docker"]?.status == "fail")
        #expect(r1?["docker"]?.detail.contains("docker.service is inactive") == true)
        #expect(try Witness.unitProperty("docker.service", "ActiveState") == "inactive")

        // With only the socket listening, a connection would start dockerd: doctor must not make one.
        try Witness.run(["systemctl", "start", "docker.socket"])
        let (listening, r2) = try doctor(["--driver", "docker"])
        #expect(listening.status == 0)
        #expect(r2?["docker"]?.status == "warn")
        #expect(try Witness.unitProperty("docker.service", "ActiveState") == "inactive")

        try Witness.run(["systemctl", "start", "docker.service"])
        try await waitForDocker()
    }

    @Test("a stopped libvirtd is reported and not started through its sockets")
    func stoppedLibvirtStaysStopped() throws {
        defer { _ = try? Witness.run(["systemctl", "start", "libvirtd.service"]) }
        try Witness.run(["systemctl", "stop", "libvirtd.service"])
        #expect(try Witness.unitProperty("libvirtd.socket", "ActiveState") == "active")
        let (out, report) = try doctor()
        #expect(out.status == 0)
        #expect(report?["libvirt"]?.status == "warn")
        #expect(try Witness.unitProperty("libvirtd.service", "ActiveState") == "inactive")
    }
}

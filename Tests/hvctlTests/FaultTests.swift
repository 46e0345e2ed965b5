import Foundation
import TestSupport
import Testing

/// Daemons and systemd taken away: every command answers with a clear error in bounded time
/// and never starts what was stopped.
@Suite("faults: stopped daemons, unreachable systemd (test host)", .serialized)
struct FaultTests {
    static let dockerUnits = ["docker.socket", "docker.service"]
    static let libvirtUnits = ["libvirtd.socket", "libvirtd-ro.socket", "libvirtd-admin.socket", "libvirtd.service"]

    static func inactive(_ units: [String]) throws -> Bool {
        try units.allSatisfy { try Witness.unitProperty($0, "ActiveState") == "inactive" }
    }

    @Test("docker.service and docker.socket stopped, libvirtd and its sockets stopped: bounded clear errors, nothing restarted")
    func stoppedDaemons() throws {
        let h = HvctlHost("hvctl-fault-test")
        defer { h.remove(); ensureDockerRunning(); ensureLibvirtRunning() }
        try Witness.run(["systemctl", "stop"] + Self.dockerUnits + Self.libvirtUnits)

        let failing: [[String]] = [
            ["instance", "list", "--driver", "docker"], ["instance", "launch", "f1", "--driver", "docker"],
            ["instance", "delete", "f1", "--driver", "docker"], ["instance", "list", "--driver", "libvirt"],
            ["instance", "launch", "f1", "--driver", "libvirt"], ["cleanup", "docker"], ["cleanup", "libvirt"], ["cleanup"],
        ]
        for args in failing {
            let (out, took) = try h.timed(args)
            #expect(out.status != 0 && out.status < 128, "\(args): \(out.status)")
            let error = out.stderr.split(separator: "\n").filter { $0.hasPrefix("Error: ") }
            #expect(error.count == 1, "\(args): \(out.stderr)")
            #expect(out.stderr.contains("is not running") || out.stderr.contains("not every driver could be looked at"), "\(args): \(out.stderr)")
            #expect(took < .seconds(20), "\(args) took \(took)")
        }
        // Also when the URI is spelled another way: any spelling of the system URI would wake
        // libvirtd through its socket.
        let spellings = ["QEMU:///system/", "qemu+unix:///system", "qemu:///system//"].flatMap { uri in
            [["status", "libvirt", "--libvirt-uri", uri], ["cleanup", "libvirt", "--ignore-unreachable", "--libvirt-uri", uri]]
        }
        for args in [["status", "docker"], ["status", "libvirt"], ["drivers"], ["cleanup", "--ignore-unreachable"], ["reap"]] + spellings {
            let (out, took) = try h.timed(args)
            #expect(out.status == 0, "\(args): \(out.stderr)")
            #expect(took < .seconds(20), "\(args) took \(took)")
        }
        #expect(try Self.inactive(Self.dockerUnits), "docker was started")
        #expect(try Self.inactive(Self.libvirtUnits), "libvirtd was started")
    }

    @Test("libvirtd stopped with its sockets listening: no spelling of the system URI wakes it")
    func socketActivation() throws {
        let h = HvctlHost("hvctl-fault-spell")
        defer { h.remove(); ensureLibvirtRunning() }
        try Witness.run(["systemctl", "stop", "libvirtd.service"])
        try Witness.run(["systemctl", "start", "libvirtd.socket", "libvirtd-ro.socket", "libvirtd-admin.socket"])
        for uri in ["qemu:///system", "QEMU:///system/", "qemu+unix:///system", "qemu:///system//"] {
            for args in [["status", "libvirt"], ["instance", "list", "--driver", "libvirt"], ["cleanup", "libvirt", "--ignore-unreachable"], ["doctor", "--driver", "libvirt"]] {
                _ = try h.hvctl(args + ["--libvirt-uri", uri])
                #expect(try Witness.unitProperty("libvirtd.service", "ActiveState") == "inactive", "\(args) with \(uri) woke libvirtd")
            }
        }
    }

    /// Runs hvctl in a mount namespace where /run/systemd is an empty tmpfs (no manager
    /// socket), with the system bus at `bus`.
    static func withoutSystemd(bus: String) -> [String] {
        ["env", "DBUS_SYSTEM_BUS_ADDRESS=unix:path=\(bus)", "unshare", "--mount", "sh", "-c", #"mount -t tmpfs none /run/systemd && exec "$@""#, "sh"]
    }

    @Test("systemd unreachable (no bus, no manager socket; or a bus that never answers): one-line error, bounded, state untouched")
    func systemdUnreachable() async throws {
        let h = HvctlHost("hvctl-fault-test")
        defer { h.remove() }
        try FileManager.default.createDirectory(atPath: h.state, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: h.dir + "/extras.d", withIntermediateDirectories: true)
        let state = #"{"activeDriver":"fake","drivers":{},"version":1}"#
        try state.write(toFile: h.state + "/state.json", atomically: true, encoding: .utf8)
        let commands: [[String]] = [
            ["status"], ["start", "fake"], ["stack", "fake"], ["stop", "fake"], ["switch", "docker"], ["cleanup"],
            ["instance", "launch", "f1", "--driver", "fake"], ["hooks", "run", "unstack", "--extras-dir", h.dir + "/extras.d"], ["reap"],
        ]
        for args in commands {
            let (out, took) = try h.timed(args, wrapper: Self.withoutSystemd(bus: "/nonexistent/bus"))
            #expect(out.status != 0 && out.status < 128, "\(args): \(out.status) \(out.stderr)")
            #expect(out.stderr.split(separator: "\n").count == 1, "\(args): \(out.stderr)")
            #expect(out.stderr.contains("systemd is not reachable"), "\(args): \(out.stderr)")
            #expect(took < .seconds(10), "\(args) took \(took)")
        }

        // A bus that accepts the connection and never says a word.
        let socket = h.dir + "/mute.sock"
        let mute = Process()
        mute.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        mute.arguments = ["-c", "import socket,time\ns=socket.socket(socket.AF_UNIX)\ns.bind('\(socket)')\ns.listen(8)\nc=[]\nwhile True: c.append(s.accept())"]
        // Its output goes nowhere: a child holding the test's stdout open would keep the test
        // runner waiting. SIGKILL, since it may inherit SIGTERM ignored.
        mute.standardOutput = FileHandle.nullDevice
        mute.standardError = FileHandle.nullDevice
        try mute.run()
        defer { kill(mute.processIdentifier, SIGKILL) }
        _ = try await eventually { FileManager.default.fileExists(atPath: socket) ? true : nil }
        let (out, took) = try h.timed(["status"], wrapper: Self.withoutSystemd(bus: socket))
        #expect(out.status != 0)
        #expect(out.stderr.contains("no answer within 10 s"), "\(out.stderr)")
        #expect(took < .seconds(20), "took \(took)")
        #expect(try String(contentsOfFile: h.state + "/state.json", encoding: .utf8) == state)
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.state) == ["state.json"])
    }
}

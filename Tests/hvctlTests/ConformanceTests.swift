import Foundation
import TestSupport
import Testing

/// What the conformance suite needs to know of a driver from outside hvctl: the units that
/// are its daemon, and how a witness CLI makes and finds a resource that is not hvctl's.
struct DriverUnderTest: CustomTestStringConvertible, Sendable {
    var name: String
    /// Stopped with `stop --force`; none of them may be active after a `status`.
    var units: [String]
    /// Makes a resource that is not hvctl's (a marked copy, or unmarked) named NAME.
    var makeForeign: (@Sendable (String) throws -> Bool)?
    /// Whether the foreign resource NAME still exists.
    var foreignExists: (@Sendable (String) throws -> Bool)?
    var removeForeign: (@Sendable (String) -> Void)?
    /// Whether an instance launch makes something outside hvctl's state for a reaper to
    /// find (fake's instances are records in the state, made at once).
    var crashable = true
    var testDescription: String { name }

    static func engine(_ name: String, cli: String, units: [String]) -> DriverUnderTest {
        DriverUnderTest(
            name: name, units: units,
            makeForeign: { foreign in
                // A copy of hvctl's mark on a container hvctl never made (not on record), from
                // the witness's own tag of hvctl's image, so hvctl's tag can still go.
                // No pipe: podman's conmon would hold it open, and a reader wait for its end.
                try Witness.run([cli, "tag", "hvctl/busybox:latest", "foreign/\(foreign):latest"]).status == 0
                    && quietly([
                        cli, "run", "-d", "--name", foreign, "--network", "none", "--label", "org.hvctl.managed=true",
                        "--label", "org.hvctl.instance=\(foreign)", "foreign/\(foreign):latest", "sleep", "600",
                    ]) == 0
            },
            foreignExists: { try Witness.run([cli, "inspect", "--type", "container", $0]).status == 0 },
            removeForeign: {
                _ = try? Witness.run([cli, "rm", "-f", $0])
                _ = try? Witness.run([cli, "rmi", "foreign/\($0):latest"])
            })
    }

    static let all: [DriverUnderTest] = [
        engine("docker", cli: "docker", units: ["docker.service", "docker.socket"]),
        engine("podman", cli: "podman", units: ["podman.service", "podman.socket"]),
        DriverUnderTest(
            name: "libvirt", units: ["libvirtd.service", "libvirtd.socket", "libvirtd-ro.socket", "libvirtd-admin.socket"],
            makeForeign: { foreign in
                let xml = "/tmp/\(foreign).xml"
                try "<domain type='qemu'><name>\(foreign)</name><memory unit='MiB'>32</memory><os><type arch='x86_64'>hvm</type></os></domain>"
                    .write(toFile: xml, atomically: false, encoding: .utf8)
                defer { try? FileManager.default.removeItem(atPath: xml) }
                return try Witness.run(["virsh", "-c", "qemu:///system", "define", xml]).status == 0
            },
            foreignExists: { try Witness.run(["virsh", "-c", "qemu:///system", "dominfo", $0]).status == 0 },
            removeForeign: { _ = try? Witness.run(["virsh", "-c", "qemu:///system", "undefine", $0]) }),
        DriverUnderTest(name: "fake", units: [], crashable: false),
    ]
}

@Suite("conformance: the same contract for every registered driver (test host)", .serialized)
struct ConformanceTests {
    @Test("idempotent verbs, status that starts nothing, instances, ownership, cleanup that spares what is not hvctl's, crash safety, doctor", arguments: DriverUnderTest.all)
    func contract(_ d: DriverUnderTest) async throws {
        let h = HvctlHost("hvctl-conformance")
        defer { h.remove() }
        // Every daemon as the host had it: up (the package enables podman.socket too).
        defer {
            ensureDockerRunning()
            ensureLibvirtRunning()
            _ = try? Witness.run(["systemctl", "start", "podman.socket"])
        }
        func hvctl(_ args: String...) throws -> Witness.Output { try h.hvctl(args) }
        let instance = "conf-" + uniqueName(d.name).suffix(8), foreign = "foreign-" + uniqueName(d.name).suffix(8)
        let clock = ContinuousClock(), began = clock.now

        // Stopped, and looked at: nothing starts.
        #expect(try hvctl("stop", d.name, "--force").status == 0)
        let down = try hvctl("status", d.name, "-o", "json")
        #expect(down.stdout.contains("\"running\" : false"), "\(down.stdout)\(down.stderr)")
        for unit in d.units { #expect(try Witness.unitProperty(unit, "ActiveState") != "active", "status started \(unit)") }

        // Up, twice: the second is a no-op.
        let start = try hvctl("start", d.name)
        #expect(start.status == 0, "\(start.stdout)\(start.stderr)")
        let again = try hvctl("start", d.name)
        #expect(again.status == 0 && (again.stdout + again.stderr).contains("already"), "\(again.stdout)\(again.stderr)")
        let logs = try hvctl("logs", d.name, "-n", "50")
        #expect(logs.status == 0 && logs.stdout.contains("already running; active driver"), "hvctl logs \(d.name): \(logs.stdout)\(logs.stderr)")
        let doctor = try h.hvctl(["doctor", "--driver", d.name])
        #expect(doctor.status == 0, "\(doctor.stdout)\(doctor.stderr)")

        // Instances: launch, list, the same name again refused.
        #expect(try hvctl("instance", "launch", instance, "--driver", d.name).status == 0)
        #expect(try hvctl("instance", "list", "--driver", d.name, "-o", "json").stdout.contains("\"\(instance)\""))
        let twice = try hvctl("instance", "launch", instance, "--driver", d.name)
        #expect(twice.status != 0 && twice.stderr.contains("exists"), "\(twice.stderr)")

        // Cleanup takes hvctl's and spares what is not.
        if let make = d.makeForeign, let exists = d.foreignExists {
            try #require(try make(foreign), "the witness could not make \(foreign)")
            defer { d.removeForeign?(foreign) }
            let cleanup = try hvctl("cleanup", d.name)
            #expect(cleanup.status == 0, "\(cleanup.stdout)\(cleanup.stderr)")
            #expect(try exists(foreign), "cleanup removed \(foreign), which is not hvctl's")
        } else {
            #expect(try hvctl("cleanup", d.name).status == 0)
        }
        #expect(!(try hvctl("instance", "list", "--driver", d.name, "-o", "json").stdout.contains("\"\(instance)\"")))

        // Crash safety: killed right after its lease appears, an instance launch leaves nothing.
        if d.crashable {
        let victim = try h.spawn(["instance", "launch", "victim", "--driver", d.name])
        let leaseDir = h.state + "/runs"
        let lease: String? = try await eventually(timeout: .seconds(30), every: .milliseconds(5)) {
            ((try? FileManager.default.contentsOfDirectory(atPath: leaseDir)) ?? []).first { $0.hasSuffix(".lease") }
        }
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        let run = try #require(lease.map { String($0.dropLast(6)) })
        var left: [String] = []
        let settled = try await eventually(timeout: .seconds(60), every: .milliseconds(200)) { () -> Bool? in
            left = try leftovers(of: run, state: h.state)
            return left.isEmpty ? true : nil
        }
        #expect(settled == true, "left behind by run \(run): \(left)")
        }
        print("conformance \(d.name): \(clock.now - began) until stop")

        // Down, twice.
        #expect(try hvctl("stop", d.name).status == 0)
        #expect(try hvctl("stop", d.name).status == 0)
    }
}

/// Runs `arguments` with its output to /dev/null, waited for with waitpid: its exit status.
/// Not Foundation's Process: after `podman run -d` (whose conmon double-forks and stays) its
/// wait never returned in the test host.
func quietly(_ arguments: [String]) throws -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
    let argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid = pid_t()
    let r = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
    guard r == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

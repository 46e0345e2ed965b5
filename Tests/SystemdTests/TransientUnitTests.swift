import Foundation
import Systemd
import TestSupport
import Testing

@Suite("Transient services through sd-bus (real systemd)")
struct TransientUnitTests {
    func service(_ command: [String], _ tweak: (inout TransientService) -> Void = { _ in }) -> TransientService {
        var s = TransientService(name: uniqueName("hvctl-test-run") + ".service", command: command)
        s.slice = "hvctl.slice"
        tweak(&s)
        return s
    }

    @Test("a command that exits 3 is reported as exit 3, and the unit is not left behind")
    func exitThree() async throws {
        let manager = try await SystemdManager.connect()
        let s = service(["/bin/sh", "-c", "exit 3"])
        let result = try await manager.run(s)
        #expect(result.exit == .exited(3))
        #expect(result.result == "exit-code")
        #expect(!result.succeeded)
        #expect(result.exitStatus == 3)
        #expect(result.invocationID?.count == 32)
        #expect(try Witness.unitProperty(s.name, "LoadState") == "not-found")
    }

    @Test("a command that succeeds reports the exit 0 systemd recorded, and success")
    func success() async throws {
        let manager = try await SystemdManager.connect()
        let result = try await manager.run(service(["/bin/true"]))
        #expect(result.exit == .exited(0))
        #expect(result.succeeded)
        #expect(result.exitStatus == 0)
    }

    @Test("a success that is not exit 0 (SuccessExitStatus=) reports the status the command exited with")
    func successNotZero() async throws {
        let manager = try await SystemdManager.connect()
        let result = try await manager.run(service(["/bin/sh", "-c", "exit 3"]) {
            $0.extraProperties.append(("SuccessExitStatus", .exitStatuses([3], signals: [])))
        })
        #expect(result.succeeded)
        #expect(result.exit == .exited(3))
        #expect(result.exitStatus == 3)
    }

    @Test("a command killed by a signal reports the signal")
    func signal() async throws {
        let manager = try await SystemdManager.connect()
        let result = try await manager.run(service(["/bin/sh", "-c", "kill -9 $$"]))
        #expect(result.exit == .signaled(9))
        #expect(result.result == "signal")
        #expect(result.exitStatus == 137)
    }

    @Test("arguments reach the command verbatim: systemd does not expand $VAR in them")
    func verbatimArguments() async throws {
        let manager = try await SystemdManager.connect()
        let result = try await manager.run(service(["/bin/sh", "-c", #"test "$1" = '$FOO ${BAR} $$'"#, "sh", "$FOO ${BAR} $$"]) {
            $0.environment = ["FOO": "expanded", "BAR": "expanded"]
        })
        #expect(result.exit == .exited(0))
    }

    @Test("environment, working directory and slice reach the command")
    func environmentAndDirectory() async throws {
        let manager = try await SystemdManager.connect()
        let ok = try await manager.run(service(["/bin/sh", "-c", #"test "$FOO" = "bar baz" && test "$(pwd)" = /usr/share && grep -q hvctl.slice /proc/self/cgroup"#]) {
            $0.environment = ["FOO": "bar baz"]
            $0.workingDirectory = "/usr/share"
        })
        #expect(ok.succeeded)
        let wrong = try await manager.run(service(["/bin/sh", "-c", #"test "$FOO" = other"#]) { $0.environment = ["FOO": "bar"] })
        #expect(wrong.exit == .exited(1))
    }

    @Test("the runtime limit stops a command that runs too long")
    func runtimeLimit() async throws {
        let manager = try await SystemdManager.connect()
        let start = ContinuousClock.now
        let result = try await manager.run(service(["/bin/sleep", "60"]) { $0.runtimeMax = .seconds(1) })
        #expect(result.result == "timeout")
        #expect(!result.succeeded)
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    @Test("hvctl's own wait limit stops the unit and says so")
    func waitLimit() async throws {
        let manager = try await SystemdManager.connect()
        let s = service(["/bin/sleep", "60"])
        await #expect(throws: SystemdError.timedOut(what: "\(s.name) to finish", after: .seconds(1))) {
            try await manager.run(s, waitLimit: .seconds(1))
        }
        let gone = try await eventually(timeout: .seconds(15)) {
            try Witness.unitProperty(s.name, "ActiveState") == "active" ? nil : true
        }
        #expect(gone == true)
    }

    @Test("over the manager's private socket (no bus daemon, no AddRef) exit codes still arrive and failed units are reset")
    func privateSocket() async throws {
        let manager = try await SystemdManager.connect(.managerSocket())
        #expect(await manager.connectedVia == "manager socket /run/systemd/private")
        let s = service(["/bin/sh", "-c", "exit 7"])
        let failed = try await manager.run(s)
        #expect(failed.exit == .exited(7))
        #expect(try Witness.unitProperty(s.name, "LoadState") == "not-found")
        let ok = try await manager.run(service(["/bin/true"]))
        #expect(ok.succeeded)
    }

    @Test("bad unit names and relative commands are refused before anything starts")
    func refusals() async throws {
        let manager = try await SystemdManager.connect()
        await #expect(throws: SystemdError.self) {
            try await manager.run(TransientService(name: "hvctl-x; rm -rf /.service", command: ["/bin/true"]))
        }
        await #expect(throws: SystemdError.self) {
            try await manager.run(TransientService(name: "hvctl-x.slice", command: ["/bin/true"]))
        }
        await #expect(throws: SystemdError.self) {
            try await manager.run(TransientService(name: "hvctl-x.service", command: ["true"]))
        }
    }
}

import Foundation
import Systemd
import TestSupport
import Testing

@Suite("The system manager over sd-bus (real systemd)")
struct SystemdManagerTests {
    @Test("version matches what systemctl reports")
    func version() async throws {
        let manager = try await SystemdManager.connect()
        let version = try await manager.version()
        let witness = try Witness.run(["systemctl", "--version"]).stdout  // "systemd 252 (252.39-1~deb12u2)"
        let major = version.prefix { $0.isNumber }
        #expect(!major.isEmpty)
        #expect(witness.hasPrefix("systemd \(major) "))
        #expect(await manager.connectedVia == "system bus")
    }

    @Test("unit state of a running, an unknown and a failed unit")
    func unitStates() async throws {
        let manager = try await SystemdManager.connect()
        let journald = try await manager.unit("systemd-journald.service")
        #expect(journald.loadState == "loaded")
        #expect(journald.activeState == "active")
        #expect(journald.subState == "running")
        #expect(journald.result == "success")

        let unknown = try await manager.unit(uniqueName("hvctl-test-nothing") + ".service")
        #expect(unknown.loadState == "not-found")
        #expect(unknown.activeState == "inactive")
    }

    @Test("start, restart and stop wait for their jobs and report the result")
    func startStopRestart() async throws {
        let name = uniqueName("hvctl-test-sleeper") + ".service"
        let remove = try installUnit(name, "[Service]\nExecStart=/bin/sleep 300\n")
        defer { remove() }
        let manager = try await SystemdManager.connect()

        #expect(try await manager.start(name).result == "done")
        #expect(try Witness.unitProperty(name, "ActiveState") == "active")
        let firstPID = try Witness.unitProperty(name, "MainPID")

        #expect(try await manager.restart(name).succeeded)
        #expect(try Witness.unitProperty(name, "MainPID") != firstPID)
        #expect(try await manager.unit(name).activeState == "active")

        #expect(try await manager.stop(name).succeeded)
        #expect(try Witness.unitProperty(name, "ActiveState") == "inactive")
    }

    @Test("a unit whose start fails reports 'failed', and reset-failed clears it")
    func failingStart() async throws {
        let name = uniqueName("hvctl-test-failing") + ".service"
        let remove = try installUnit(name, "[Service]\nType=oneshot\nExecStart=/bin/false\n")
        defer { remove() }
        let manager = try await SystemdManager.connect()
        let job = try await manager.start(name)
        #expect(job.result == "failed")
        #expect(!job.succeeded)
        let state = try await manager.unit(name)
        #expect(state.activeState == "failed")
        #expect(state.result == "exit-code")
        try await manager.resetFailed(name)
        #expect(try Witness.unitProperty(name, "ActiveState") == "inactive")
    }

    @Test("a start that outlasts its timeout throws instead of hanging")
    func jobTimeout() async throws {
        let name = uniqueName("hvctl-test-slow") + ".service"
        let remove = try installUnit(name, "[Service]\nType=oneshot\nExecStart=/bin/sleep 30\n")
        defer { remove() }
        let manager = try await SystemdManager.connect()
        await #expect(throws: SystemdError.timedOut(what: "StartUnit \(name)", after: .milliseconds(500))) {
            try await manager.start(name, timeout: .milliseconds(500))
        }
    }

    @Test("while one call waits for its job, other calls on the same manager go on")
    func waitsInterleave() async throws {
        let manager = try await SystemdManager.connect()
        var service = TransientService(name: uniqueName("hvctl-test-slow-run") + ".service", command: ["/bin/sleep", "3"])
        service.slice = "hvctl.slice"
        let slow = service
        let running = Task { try await manager.run(slow) }
        // Wait until the slow run is under way, then time calls made while it waits.
        let underWay = try await eventually(timeout: .seconds(15)) {
            try Witness.unitProperty(slow.name, "ActiveState") == "activating" ? true : nil
        }
        try #require(underWay == true)
        let clock = ContinuousClock()
        let start = clock.now
        _ = try await manager.version()
        let quick = try await manager.run(TransientService(name: uniqueName("hvctl-test-quick") + ".service", command: ["/bin/true"]))
        let took = clock.now - start
        #expect(quick.succeeded)
        #expect(took < .seconds(2), "the calls waited \(took) for the slow run's job")
        #expect(try await running.value.succeeded)
    }

    @Test("starting a unit that does not exist is a clear error")
    func missingUnit() async throws {
        let manager = try await SystemdManager.connect()
        let name = uniqueName("hvctl-test-absent") + ".service"
        do {
            _ = try await manager.start(name)
            Issue.record("starting \(name) should have failed")
        } catch let error as SystemdError {
            #expect("\(error)".contains(name))
            #expect("\(error)".contains("not found"))
        }
    }

    @Test("an unreachable manager is reported with every transport tried")
    func unreachable() async throws {
        do {
            _ = try await SystemdManager.connect(.managerSocket(path: "/nonexistent/private"))
            Issue.record("connect should have failed")
        } catch let error as SystemdError {
            guard case .unreachable(let attempts) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(attempts == ["manager socket /nonexistent/private: /nonexistent/private does not exist"])
        }
    }
}

import Foundation
import Systemd
import TestSupport
import Testing

@Suite("Reading the journal with sd-journal (real journald)")
struct JournalReaderTests {
    /// Lines of `unit` (and of a match) once journald has written all `count` of them.
    func lines(matching matches: [String], count: Int) async throws -> [JournalEntry] {
        let reader = try await JournalReader.open()
        for m in matches { try await reader.addMatch(m) }
        let found = try await eventually(timeout: .seconds(15), every: .milliseconds(100)) { () async throws -> [JournalEntry]? in
            try await reader.seekHead()
            let entries = try await reader.entries().filter { $0["_PID"] != "1" }  // PID 1's Started/Finished notes
            return entries.count >= count ? entries : nil
        }
        return found ?? []
    }

    @Test("a unit's printed lines are read back, exactly and in order, by unit and by custom field")
    func linesByUnitAndField() async throws {
        let manager = try await SystemdManager.connect()
        let run = uniqueName("run")
        var s = TransientService(name: uniqueName("hvctl-test-log") + ".service", command: [
            "/bin/sh", "-c", "echo first line; echo 'second: ünïcode'; echo third >&2",
        ])
        s.logExtraFields = ["HVCTL_RUN": run, "HVCTL_HOOK": "20-test.sh"]
        s.syslogIdentifier = "hvctl-test"
        let result = try await manager.run(s)
        #expect(result.succeeded)

        let byUnit = try await lines(matching: ["_SYSTEMD_UNIT=\(s.name)"], count: 3)
        #expect(byUnit.map(\.message) == ["first line", "second: ünïcode", "third"])
        #expect(byUnit.allSatisfy { $0["HVCTL_RUN"] == run && $0["SYSLOG_IDENTIFIER"] == "hvctl-test" })
        #expect(byUnit.map(\.realtimeMicroseconds) == byUnit.map(\.realtimeMicroseconds).sorted())

        let byField = try await lines(matching: ["HVCTL_RUN=\(run)", "HVCTL_HOOK=20-test.sh"], count: 3)
        #expect(byField.map(\.message) == byUnit.map(\.message))

        // journalctl, as a witness, sees the same lines.
        let witness = try Witness.run(["journalctl", "-o", "cat", "_SYSTEMD_UNIT=\(s.name)"]).stdout
        #expect(witness.split(separator: "\n").map(String.init) == ["first line", "second: ünïcode", "third"])
    }

    @Test("seek tail then previous gives the newest entries; a cursor resumes after an entry")
    func tailAndCursor() async throws {
        let manager = try await SystemdManager.connect()
        var s = TransientService(name: uniqueName("hvctl-test-seq") + ".service", command: [
            "/bin/sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done",
        ])
        s.syslogIdentifier = "hvctl-test"
        _ = try await manager.run(s)
        let all = try await lines(matching: ["_SYSTEMD_UNIT=\(s.name)", "SYSLOG_IDENTIFIER=hvctl-test"], count: 5)
        #expect(all.map(\.message) == ["line1", "line2", "line3", "line4", "line5"])

        let reader = try await JournalReader.open()
        try await reader.addMatch("_SYSTEMD_UNIT=\(s.name)")
        try await reader.addMatch("SYSLOG_IDENTIFIER=hvctl-test")
        try await reader.seekTail()
        #expect(try await reader.skipBackward(2) == 2)
        // After a backward skip the reader stands on line4; next() moves on.
        #expect(try await reader.current().message == "line4")
        #expect(try await reader.entries().map(\.message) == ["line5"])

        try await reader.seek(cursor: all[1].cursor)
        #expect(try await reader.next()?.message == "line2")
        #expect(try await reader.next()?.message == "line3")
    }

    @Test("a malformed match is refused with a clear error")
    func badMatch() async throws {
        let reader = try await JournalReader.open()
        await #expect(throws: SystemdError.self) { try await reader.addMatch("no equals sign") }
        await #expect(throws: SystemdError.self) { try await reader.addMatch("lower=case") }
    }
}

@Suite("Following the journal")
struct JournalFollowTests {
    @Test("wait() wakes when a new matching line arrives, and next() returns it")
    func follow() async throws {
        let manager = try await SystemdManager.connect()
        let name = uniqueName("hvctl-test-follow") + ".service"
        let reader = try await JournalReader.open()
        try await reader.addMatch("_SYSTEMD_UNIT=\(name)")
        try await reader.seekTail()
        _ = try await reader.previous()
        #expect(try await reader.next() == nil)

        var s = TransientService(name: name, command: ["/bin/echo", "followed"])
        s.syslogIdentifier = "hvctl-test"
        _ = try await manager.run(s)

        let line = try await eventually(timeout: .seconds(15), every: .milliseconds(1)) { () async throws -> String? in
            if let entry = try await reader.next(), entry["_PID"] != "1" { return entry.message }
            _ = try await reader.wait(timeout: .milliseconds(200))
            return nil
        }
        #expect(line == "followed")
    }

    @Test("journald answers a synchronize request over its varlink socket")
    func synchronize() {
        #expect(JournalSync.synchronize())
    }
}

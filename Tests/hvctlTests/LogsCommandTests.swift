import Foundation
import TestSupport
import Testing

/// Runs one phase of the fixture's hooks and returns the run id.
func runHooks(_ f: HookFixture, _ call: [String], env: [String: String] = [:]) throws -> String {
    let out = try Witness.run([hvctlBinary, "hooks", "run"] + call + ["--extras-dir", f.extras, "--env", "OUT=\(f.out)", "-o", "json"], environment: env)
    let report = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any], "\(out.stdout)\(out.stderr)")
    return try #require(report["run"] as? String)
}

func logs(_ args: String...) throws -> Witness.Output {
    try Witness.run([hvctlBinary, "logs"] + args)
}

@Suite("hvctl logs (sd-journal, in the test host)", .serialized)
struct LogsCommandTests {
    @Test("a hook printing 10,000 numbered lines gets all of them back, in order")
    func tenThousand() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-many.sh", #"[[ "$1" == source ]] || seq 1 10000"#)
        let run = try runHooks(f, ["stack", "install"])
        let out = try logs("--run", run, "-o", "cat")
        #expect(out.status == 0)
        #expect(out.stdout == (1...10000).map { "\($0)\n" }.joined())
        // Without --run: the latest run is this one.
        #expect(try logs("-o", "cat", "-n", "2").stdout == "9999\n10000\n")
    }

    @Test("selectors return exactly the matching lines")
    func selectors() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("10-a.sh", #"[[ "$1" == source ]] || { echo "a $*"; echo "<3>a failed-ish in $*"; }"#)
        try f.add("20-b.sh", #"[[ "$1" == source ]] || { echo "b $*"; echo "b again $*"; }"#)
        let first = try runHooks(f, ["stack", "install"])
        let second = try runHooks(f, ["unstack"])

        #expect(try logs("-o", "cat").stdout == "a unstack\na failed-ish in unstack\nb unstack\nb again unstack\n")
        #expect(try logs("--run", first, "-o", "cat", "--hook", "20-b").stdout == "b stack install\nb again stack install\n")
        #expect(try logs("--run", first, "-o", "cat", "--hook", "10-a.sh", "--phase", "install").stdout == "a stack install\na failed-ish in stack install\n")
        #expect(try logs("--run", first, "-o", "cat", "--phase", "unstack").stdout == "")
        #expect(try logs("--run", second, "-o", "cat", "-p", "err").stdout == "a failed-ish in unstack\n")
        #expect(try logs("--run", second, "-o", "cat", "-g", "again").stdout == "b again unstack\n")
        #expect(try logs("--run", second, "-o", "cat", "-n", "1").stdout == "b again unstack\n")
        let all = try logs("--all-runs", "-o", "cat", "--hook", "20-b", "--since", "-5min").stdout
        #expect(all.hasSuffix("b stack install\nb again stack install\nb unstack\nb again unstack\n"))

        let short = try logs("--run", first, "--hook", "20-b", "-n", "1").stdout
        #expect(short.hasSuffix(" 20-b.sh stack install: b again stack install\n"))
        #expect(try logs("--run", first, "--until", "-1h").stdout == "")
    }

    @Test("json is one object per line carrying the journal fields; a cursor resumes without loss or duplicate")
    func jsonAndCursor() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-seq.sh", #"[[ "$1" == source ]] || seq 1 10"#)
        let run = try runHooks(f, ["stack", "extra"])
        let json = try logs("--run", run, "-o", "json")
        let objects = json.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
        #expect(objects.count == 10)
        #expect(objects.map { $0["MESSAGE"] } == (1...10).map { "\($0)" })
        #expect(objects.allSatisfy { $0["HVCTL_RUN"] == run && $0["HVCTL_HOOK"] == "20-seq.sh" && $0["__CURSOR"] != nil })

        let cursor = try #require(objects[4]["__CURSOR"])
        let rest = try logs("--run", run, "-o", "cat", "--after-cursor", cursor, "--show-cursor")
        let lines = rest.stdout.split(separator: "\n").map(String.init)
        #expect(Array(lines.dropLast()) == (6...10).map { "\($0)" })
        let printed = try #require(lines.last?.split(separator: " ", maxSplits: 2).last.map(String.init), "\(lines)")
        #expect(lines.last?.hasPrefix("-- cursor: ") == true)
        // Resuming after the printed cursor repeats nothing; after the last line, neither.
        #expect(try logs("--run", run, "-o", "cat", "--after-cursor", printed).stdout == "")
        #expect(try logs("--run", run, "-o", "cat", "--after-cursor", objects[9]["__CURSOR"]!).stdout == "")
    }

    @Test("invalid UTF-8 output is shown, not a crash")
    func invalidUTF8() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-bin.sh", #"[[ "$1" == source ]] || printf 'bad \xff\xfe end\n'"#)
        let run = try runHooks(f, ["stack", "extra"])
        for format in ["short", "cat", "json"] {
            let out = try logs("--run", run, "-o", format)
            #expect(out.status == 0, "\(format): \(out.stderr)")
            #expect(out.stdout.contains("bad ") && out.stdout.contains(" end"), "\(format): \(out.stdout)")
        }
    }

    @Test("follow shows a running hook's lines as they come and exits when the run ends")
    func follow() async throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-slow.sh", #"[[ "$1" == source ]] && return 0; echo first; sleep 3; echo second; sleep 1"#)
        let hooks = Process()
        hooks.executableURL = URL(fileURLWithPath: hvctlBinary)
        hooks.arguments = ["hooks", "run", "stack", "extra", "--extras-dir", f.extras]
        hooks.standardOutput = FileHandle.nullDevice
        try hooks.run()
        // Wait until this run is the latest and has begun.
        _ = try await eventually(timeout: .seconds(10)) { try logs("-o", "cat").stdout.contains("first") ? true : nil }

        let follower = Process()
        follower.executableURL = URL(fileURLWithPath: hvctlBinary)
        follower.arguments = ["logs", "-f", "-o", "cat"]
        let pipe = Pipe()
        follower.standardOutput = pipe
        let started = ContinuousClock.now
        try follower.run()
        let lines = LineCollector()
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { lines.add(String(decoding: data, as: UTF8.self)) }
        }
        let sawSecond = try await eventually(timeout: .seconds(10), every: .milliseconds(20)) { lines.text.contains("second\n") ? true : nil }
        #expect(sawSecond == true)
        // "second" is printed about 3 s after "first"; it must show within a second of that.
        #expect(ContinuousClock.now - started < .seconds(5))
        hooks.waitUntilExit()
        let exited = try await eventually(timeout: .seconds(5)) { follower.isRunning ? nil : true }
        #expect(exited == true, "logs -f kept running after the run ended")
        if follower.isRunning { follower.terminate() }
        pipe.fileHandleForReading.readabilityHandler = nil
        #expect(lines.text == "first\nsecond\n")
    }

    @Test("--export writes a text file per hook unit and the raw entries in journal export format")
    func export() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("10-a.sh", #"[[ "$1" == source ]] || echo alpha"#)
        try f.add("20-b.sh", #"[[ "$1" == source ]] || printf 'beta\nmulti\n'"#)
        let run = try runHooks(f, ["stack", "install"])
        let dir = f.top + "/export"
        let out = try logs("--run", run, "--export", dir)
        #expect(out.status == 0, "\(out.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(files == ["hvctl-\(run)-install-10-a.service.log", "hvctl-\(run)-install-20-b.service.log", "run-\(run).journal-export"])
        let a = try String(contentsOfFile: dir + "/" + files[0], encoding: .utf8)
        #expect(a.hasSuffix("10-a.sh stack install: alpha\n"))
        let raw = try String(contentsOfFile: dir + "/" + files[2], encoding: .utf8)
        let entries = raw.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(entries.count == 5)  // start marker, alpha, beta, multi, end marker
        #expect(entries.allSatisfy { $0.hasPrefix("__CURSOR=") && $0.contains("\n__REALTIME_TIMESTAMP=") })
        #expect(raw.contains("\nMESSAGE=alpha\n") && raw.contains("\nMESSAGE=multi\n"))
    }

    @Test("a driver's logs: the daemon's unit and hvctl's own steps")
    func driverLogs() throws {
        let state = "/tmp/" + uniqueName("hvctl-logs-state")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let env = ["HVCTL_STATE_DIR": state, "HVCTL_COMPUTE_CONFIG": state + "/compute.conf"]
        try Witness.run([hvctlBinary, "start", "fake"], environment: env)
        let out = try logs("fake", "-n", "3", "-o", "cat")
        #expect(out.stdout == "fake: install\nfake: configure\nfake: start\n")
        try Witness.run([hvctlBinary, "start", "fake"], environment: env)
        #expect(try logs("fake", "-n", "1", "-o", "cat").stdout == "fake: already running; active driver\n")
        ensureDockerRunning()
        let docker = try logs("docker", "--since", "-1h", "-o", "short")
        #expect(docker.status == 0)
        #expect(docker.stdout.contains("dockerd["), "\(docker.stdout.suffix(300))")
    }

    @Test("a reader that goes away (hvctl logs | head -1) ends hvctl quietly")
    func closedPipe() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-many.sh", #"[[ "$1" == source ]] || seq 1 50000"#)
        _ = try runHooks(f, ["stack", "install"])
        let out = try Witness.run(["bash", "-c", "set -o pipefail; \"$0\" logs -o cat | head -1", hvctlBinary])
        #expect(out.stdout == "1\n")
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stderr.isEmpty)
    }

    @Test("bad input is one line and a non-zero exit", arguments: [
        (["--run", "nosuchrun"], "holds nothing of run 'nosuchrun'"),
        (["--since", "yesterdayish"], "invalid time 'yesterdayish'"),
        (["-g", "("], "invalid --grep pattern"),
        (["-p", "loud"], "invalid priority 'loud'"),
        (["-o", "xml"], "invalid output 'xml'"),
        (["xen"], "unknown driver 'xen'"),
        (["--run", "x", "--all-runs"], "exclude each other"),
    ])
    func badInput(args: [String], message: String) throws {
        let out = try Witness.run([hvctlBinary, "logs"] + args)
        #expect(out.status != 0)
        #expect(out.stderr.contains(message), "\(out.stderr)")
        #expect(out.stderr.split(separator: "\n").filter { !$0.hasPrefix("Usage") && !$0.hasPrefix("  See") }.count == 1)
    }
}

/// Text gathered from a pipe's handler thread.
final class LineCollector: @unchecked Sendable {
    // @unchecked: `buffer` is only touched with `lock` held.
    private let lock = NSLock()
    private var buffer = ""
    func add(_ s: String) { lock.lock(); buffer += s; lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return buffer }
}

import Foundation
import Glibc
import TestSupport
import Testing

/// Malformed input of every kind hvctl takes — hook files, configuration, driver and instance
/// names, log selectors, option values, a broken state directory — through the built binary.
/// Whatever the input, hvctl must refuse it the same way: a non-zero exit (not a crash), one
/// line on stderr that names the problem, nothing on disk changed, and quickly.
@Suite("bad input: one line, a clean exit, nothing changed (the built binary, in the test host)", .serialized)
struct BadInputTests {
    @Test("malformed input is refused cleanly", arguments: BadInputCase.all)
    func refused(_ c: BadInputCase) throws {
        let box = try BadInputSandbox()
        defer { box.remove() }
        try c.setup(box)
        let before = box.snapshot()

        let out = try box.hvctl(c.arguments, c.environment)
        var problems = c.check(out)
        let after = box.snapshot()
        if let change = BadInputSandbox.difference(before, after) { problems.append((.unchanged, change)) }

        for args in c.afterwards {
            let next = try box.hvctl(args, [:])
            if next.status != 0 || next.crashed || next.elapsed > BadInputCase.timeLimit {
                problems.append((.afterwards, "`hvctl \(args.joined(separator: " "))` afterwards: \(next.summary)"))
            }
        }
        for (_, text) in problems { Issue.record("\(c.name): \(text)") }
    }
}

/// One malformed input and how hvctl must answer it.
struct BadInputCase: Sendable, CustomTestStringConvertible {
    enum Check: Sendable { case exit, oneLine, message, unchanged, time, afterwards }

    static let timeLimit: Duration = .seconds(20)
    /// For a hook that fails: its context follows the error line, but stderr stays small.
    static let failedHookStderrLimit = 4096

    var name: String
    /// `{sandbox}` stands for the case's own directory.
    var arguments: [String]
    var expected: String
    var environment: [String: String] = [:]
    var setup: @Sendable (BadInputSandbox) throws -> Void = { _ in }
    /// A hook ran and failed: hvctl prints the failure's context after the error line.
    var hookFails = false
    /// Commands that must still work afterwards (exit 0, no crash).
    var afterwards: [[String]] = []

    var testDescription: String { name }

    func check(_ out: HvctlOutput) -> [(Check, String)] {
        var problems: [(Check, String)] = []
        if out.status == 0 || out.crashed || out.status >= 128 {
            problems.append((.exit, "expected a clean non-zero exit; \(out.summary)"))
        }
        if out.elapsed > Self.timeLimit {
            problems.append((.time, "took \(out.elapsed), over \(Self.timeLimit)"))
        }
        let lines = out.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast(out.stderr.hasSuffix("\n") ? 1 : 0)
        let errorLine = lines.first.map(String.init) ?? ""
        if hookFails {
            if out.stderrBytes >= Self.failedHookStderrLimit { problems.append((.oneLine, "stderr is \(out.stderrBytes) bytes")) }
        } else if lines.count != 1 || errorLine.isEmpty {
            problems.append((.oneLine, "stderr is not one line: \(out.stderr.debugDescription)"))
        }
        if !errorLine.contains(expected) {
            problems.append((.message, "the error line does not say \(expected.debugDescription): \(errorLine.debugDescription)"))
        }
        return problems
    }
}

/// hvctl's answer, with what a crash or a hang would look like.
struct HvctlOutput {
    var status: Int32
    var signaled: Bool
    var stdout: String
    var stderr: String
    var stderrBytes: Int
    var elapsed: Duration

    /// A signal, or what the Swift runtime prints when it traps.
    var crashed: Bool {
        signaled || ["Fatal error", "Program crashed", "Stack dump", "Current stack trace", "Backtrace"].contains { stderr.contains($0) }
    }

    var summary: String {
        "\(signaled ? "killed by signal" : "exit") \(status) after \(elapsed), stderr \(stderr.prefix(300).debugDescription)"
    }
}

/// A case's own world: state, runtime and extras.d directories, a configuration and a compute
/// config, all under one directory in /tmp, never the host's.
struct BadInputSandbox: Sendable {
    let dir = "/tmp/" + uniqueName("hvctl-badinput")
    var extras: String { dir + "/extras.d" }
    var state: String { dir + "/state" }
    var runtime: String { dir + "/run" }
    var config: String { dir + "/hvctl.conf" }
    /// A valid state, as hvctl writes it; no bad input may touch it.
    static let validState = #"{"version":1,"activeDriver":"fake","drivers":{}}"#

    init() throws {
        for path in [dir, extras, state] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            chmod(path, 0o755)
        }
        try Self.validState.write(toFile: state + "/state.json", atomically: false, encoding: .utf8)
        // Empty, so the host's /etc/hvctl/hvctl.conf never leaks in.
        try "".write(toFile: config, atomically: false, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    func hook(_ file: String, _ body: String = "true\n", mode: mode_t = 0o755) throws {
        try write(extras + "/" + file, Array(body.utf8))
        chmod(extras + "/" + file, mode)
    }

    func write(_ path: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    func configure(_ text: String) throws { try write(config, Array(text.utf8)) }

    func replaceState(_ make: (String) throws -> Void) throws {
        try FileManager.default.removeItem(atPath: state + "/state.json")
        try make(state + "/state.json")
    }

    /// Nothing of the caller's hvctl settings, only the sandbox's.
    func environment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HVCTL_") && $0.key != "VIRT_DRIVER" }
        env["HVCTL_STATE_DIR"] = state
        env["HVCTL_RUNTIME_DIR"] = runtime
        env["HVCTL_COMPUTE_CONFIG"] = dir + "/compute.conf"
        env["HVCTL_EXTRAS_DIR"] = extras
        env["HVCTL_CONFIG"] = config
        return env.merging(extra) { $1 }
    }

    /// Runs hvctl in the sandbox, reading both pipes at once (a hook's 20 MB must not block
    /// it) and killing it if it outlives the time limit by far, so a hang fails one case
    /// instead of the suite.
    func hvctl(_ arguments: [String], _ extra: [String: String]) throws -> HvctlOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: hvctlBinary)
        process.arguments = arguments.map { $0.replacingOccurrences(of: "{sandbox}", with: dir) }
        process.environment = environment(extra)
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let clock = ContinuousClock()
        let start = clock.now
        try process.run()
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        let stderr = DataBox()
        let reading = DispatchGroup()
        DispatchQueue.global().async(group: reading) { stderr.data = err.fileHandleForReading.readDataToEndOfFile() }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        reading.wait()
        process.waitUntilExit()
        watchdog.cancel()
        return HvctlOutput(
            status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
            stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr.data, as: UTF8.self),
            stderrBytes: stderr.data.count, elapsed: clock.now - start)
    }

    /// Every file in the sandbox but the runtime directory (where the host lock lives), with
    /// its bytes; directories count only through what they hold. FIFOs are never opened.
    func snapshot() -> [String: Data] {
        var files: [String: Data] = [:]
        func visit(_ path: String, _ name: String) {
            var info = stat()
            guard lstat(path, &info) == 0 else { return }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                guard path != runtime else { return }
                for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                    visit(path + "/" + entry, name.isEmpty ? entry : name + "/" + entry)
                }
            case S_IFREG:
                files[name] = FileManager.default.contents(atPath: path) ?? Data()
            case S_IFLNK:
                files[name] = Data(("-> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")).utf8)
            default:
                files[name] = Data("special, mode \(String(info.st_mode, radix: 8))".utf8)
            }
        }
        visit(dir, "")
        return files
    }

    static func difference(_ before: [String: Data], _ after: [String: Data]) -> String? {
        let added = after.keys.filter { before[$0] == nil }.sorted()
        let removed = before.keys.filter { after[$0] == nil }.sorted()
        let changed = before.keys.filter { after[$0] != nil && after[$0] != before[$0] }.sorted()
        if added.isEmpty && removed.isEmpty && changed.isEmpty { return nil }
        return "files changed: added \(added), removed \(removed), modified \(changed)"
    }
}

/// Bytes handed from a reader thread.
final class DataBox: @unchecked Sendable {
    // @unchecked: written once on the reader's queue, read after DispatchGroup.wait().
    var data = Data()
}

extension BadInputCase {
    static let all: [BadInputCase] = hookNames + hookFiles + hookFailures + configuration + names + logs + options + corruptState

    /// A hook that fails; hvctl must show the failure without choking on what it printed.
    static func failing(_ file: String, _ body: String) -> @Sendable (BadInputSandbox) throws -> Void {
        { try $0.hook(file, "[[ \"$1\" == source ]] && return 0\n" + body) }
    }

    static let run = ["hooks", "run", "stack", "install"]

    // Every file NN-name.sh hvctl would refuse stops it before any unit starts.
    static let hookNames: [BadInputCase] = [
        .init(name: "hook prefix of one digit", arguments: ["hooks", "list"], expected: "1-foo.sh is not a valid hook name",
              setup: { try $0.hook("1-foo.sh") }),
        .init(name: "hook prefix of letters", arguments: run, expected: "abc-foo.sh is not a valid hook name",
              setup: { try $0.hook("abc-foo.sh") }),
        .init(name: "hook prefix of three digits", arguments: run, expected: "100-foo.sh is not a valid hook name",
              setup: { try $0.hook("100-foo.sh") }),
        .init(name: "hook with no dash after the order", arguments: run, expected: "10.sh is not a valid hook name",
              setup: { try $0.hook("10.sh") }),
        .init(name: "hook with an empty name", arguments: run, expected: "it has no name after the order prefix",
              setup: { try $0.hook("10-.sh") }),
        .init(name: "reserved prefix 00", arguments: run, expected: "order prefix 00, which is reserved",
              setup: { try $0.hook("00-foo.sh") }),
        .init(name: "reserved prefix 09", arguments: run, expected: "order prefix 09, which is reserved",
              setup: { try $0.hook("09-foo.sh") }),
        .init(name: "reserved prefix 90", arguments: run, expected: "order prefix 90, which is reserved",
              setup: { try $0.hook("90-foo.sh") }),
        .init(name: "reserved prefix 99 in a dry run", arguments: ["stack", "fake", "--dry-run"], expected: "order prefix 99, which is reserved",
              setup: { try $0.hook("99-foo.sh") }),
        // Unit-name injection: none of these may reach a unit name or a shell.
        .init(name: "hook name with ';'", arguments: run, expected: "10-a;b.sh is not a valid hook name",
              setup: { try $0.hook("10-a;b.sh") }),
        .init(name: "hook name with a space", arguments: run, expected: "10-a b.sh is not a valid hook name",
              setup: { try $0.hook("10-a b.sh") }),
        .init(name: "hook name with $(...)", arguments: run, expected: "10-$(touch pwned).sh is not a valid hook name",
              setup: { try $0.hook("10-$(touch pwned).sh") }),
        .init(name: "hook name with a newline, shown escaped", arguments: run, expected: #"10-a\nb.sh is not a valid hook name"#,
              setup: { try $0.hook("10-a\nb.sh") }),
        .init(name: "hook name with non-ASCII letters", arguments: run, expected: "10-é.sh is not a valid hook name",
              setup: { try $0.hook("10-é.sh") }),
        .init(name: "hook name too long for a unit name", arguments: run, expected: "past systemd's 255; shorten the hook's name",
              setup: { try $0.hook("10-" + String(repeating: "a", count: 240) + ".sh") }),
    ]

    static let hookFiles: [BadInputCase] = [
        .init(name: "world-writable hook", arguments: run, expected: "10-foo.sh is writable by others (mode 0646)",
              setup: { try $0.hook("10-foo.sh", mode: 0o646) }),
        .init(name: "group-writable extras.d", arguments: run, expected: "extras.d is writable by its group (mode 0775)",
              setup: { chmod($0.extras, 0o775) }),
        .init(name: "world-writable extras.d", arguments: run, expected: "extras.d is writable by others (mode 0757)",
              setup: { chmod($0.extras, 0o757) }),
        .init(name: "hook owned by another user", arguments: run, expected: "10-foo.sh is owned by uid 65534, not root",
              setup: { try $0.hook("10-foo.sh"); chown($0.extras + "/10-foo.sh", 65534, 65534) }),
        .init(name: "hook that is a directory", arguments: run, expected: "10-dir.sh has a hook's name but is a directory",
              setup: { try FileManager.default.createDirectory(atPath: $0.extras + "/10-dir.sh", withIntermediateDirectories: false) }),
        .init(name: "hook that is a dangling symlink", arguments: run, expected: "10-gone.sh has a hook's name but is a dangling symlink",
              setup: { try FileManager.default.createSymbolicLink(atPath: $0.extras + "/10-gone.sh", withDestinationPath: "/nonexistent/hook.sh") }),
        .init(name: "hook that is a FIFO", arguments: run, expected: "10-fifo.sh has a hook's name but is a special file",
              setup: { mkfifo($0.extras + "/10-fifo.sh", 0o644) }),
        // The flows must refuse a bad extras.d before they touch anything, as `hooks run` does.
        .init(name: "stack with a malformed hook", arguments: ["stack", "fake"], expected: "1-foo.sh is not a valid hook name",
              setup: { try $0.hook("1-foo.sh") }),
        .init(name: "clean with an unsafe hook", arguments: ["clean", "fake"], expected: "10-foo.sh is writable by others",
              setup: { try $0.hook("10-foo.sh", mode: 0o646) }),
    ]

    static let hookFailures: [BadInputCase] = [
        .init(name: "hook that prints 20 MB, then fails", arguments: run, expected: "stack install failed: 10-huge.sh",
              setup: failing("10-huge.sh", "head -c 20000000 /dev/zero | tr '\\0' x | fold -w 1000\nexit 4\n"),
              hookFails: true, afterwards: [["logs"]]),
        .init(name: "hook that prints binary bytes, then fails", arguments: run, expected: "stack install failed: 10-binary.sh",
              setup: failing("10-binary.sh", "head -c 65536 /dev/urandom\nprintf 'a\\0b\\xff\\xfe\\xc3(\\n'\nexit 3\n"),
              hookFails: true, afterwards: [["logs"], ["logs", "-o", "json"]]),
    ]

    static let configuration: [BadInputCase] = [
        .init(name: "config: unknown virt_driver", arguments: ["status"], expected: "hvctl.conf:2: unknown driver 'xen'",
              setup: { try $0.configure("[DEFAULT]\nvirt_driver = xen\n") }),
        .init(name: "config: hook_timeout = abc", arguments: ["hooks", "list"], expected: "hvctl.conf:2: hook_timeout takes a number of seconds from 1 to",
              setup: { try $0.configure("[DEFAULT]\nhook_timeout = abc\n") }),
        .init(name: "config: negative hook_timeout", arguments: ["status"], expected: "hvctl.conf:3: 10-foo takes a number of seconds from 1 to",
              setup: { try $0.configure("[DEFAULT]\n[hook_timeout]\n10-foo = -5\n") }),
        .init(name: "config: a line without '='", arguments: ["status"], expected: "hvctl.conf:2: expected key = value",
              setup: { try $0.configure("[DEFAULT]\nvirt_driver fake\n") }),
        .init(name: "config: garbage section header", arguments: ["status"], expected: "hvctl.conf:1: a section header is [name]",
              setup: { try $0.configure("[DEFAULT\nvirt_driver = fake\n") }),
        .init(name: "config: invalid UTF-8", arguments: ["status"], expected: "hvctl.conf:2: not UTF-8 text",
              setup: { try $0.write($0.config, Array("[DEFAULT]\nvirt_driver = fa".utf8) + [0xff, 0xfe] + Array("ke\n".utf8)) }),
        .init(name: "--config pointing at a directory", arguments: ["status", "--config", "{sandbox}/extras.d"],
              expected: "extras.d: it is a directory"),
        .init(name: "--config pointing at a missing file", arguments: ["--config", "{sandbox}/nope.conf", "status"],
              expected: "nope.conf does not exist"),
    ]

    static let names: [BadInputCase] = [
        .init(name: "start an unknown driver", arguments: ["start", "xen"], expected: "unknown driver 'xen' (from the DRIVER argument)"),
        .init(name: "stack a path as a driver", arguments: ["stack", "../x"], expected: "unknown driver '../x'"),
        .init(name: "VIRT_DRIVER=bogus", arguments: ["status"], expected: "unknown driver 'bogus' (from VIRT_DRIVER)",
              environment: ["VIRT_DRIVER": "bogus"]),
        .init(name: "switch to an empty driver name", arguments: ["switch", ""], expected: "unknown driver ''"),
        .init(name: "hooks for a driver with ';'", arguments: ["hooks", "run", "unstack", "--driver", "fake;reboot"],
              expected: "unknown driver 'fake;reboot'"),
        .init(name: "instance name with a space", arguments: ["instance", "launch", "a b", "--driver", "fake"],
              expected: "invalid instance name 'a b'"),
        .init(name: "instance name with shell syntax", arguments: ["instance", "launch", "x;rm -rf", "--driver", "fake"],
              expected: "invalid instance name 'x;rm -rf'"),
        .init(name: "instance name with a path", arguments: ["instance", "launch", "../x", "--driver", "fake"],
              expected: "invalid instance name '../x'"),
        .init(name: "instance name of 300 characters", arguments: ["instance", "launch", String(repeating: "a", count: 300), "--driver", "fake"],
              expected: "use 1 to 63 characters"),
    ]

    static let logs: [BadInputCase] = [
        .init(name: "logs --run with ';'", arguments: ["logs", "--run", "x;y"], expected: "invalid --run 'x;y'"),
        .init(name: "logs --since garbage", arguments: ["logs", "--since", "garbage"], expected: "invalid time 'garbage'"),
        .init(name: "logs -n -5", arguments: ["logs", "-n", "-5"], expected: "-n takes a number of lines, 0 or more"),
        .init(name: "logs -p nine", arguments: ["logs", "-p", "nine"], expected: "invalid priority 'nine'"),
        .init(name: "logs --after-cursor garbage", arguments: ["logs", "--after-cursor", "garbage"], expected: "invalid --after-cursor 'garbage'"),
        .init(name: "logs --hook with a path", arguments: ["logs", "--hook", "../x"], expected: "invalid --hook '../x'"),
        .init(name: "logs --unit with ';'", arguments: ["logs", "--unit", "x;y.service"], expected: "invalid --unit 'x;y.service'"),
        .init(name: "logs --unit of 300 characters", arguments: ["logs", "--unit", String(repeating: "a", count: 292) + ".service"],
              expected: "it is longer than 255 bytes"),
        .init(name: "logs --phase unknown", arguments: ["logs", "--phase", "boot"], expected: "invalid --phase 'boot'"),
        .init(name: "logs --export onto a file", arguments: ["logs", "--export", "{sandbox}/hvctl.conf"],
              expected: "hvctl.conf: it exists and is not a directory", setup: { _ in try emitRun() }),
    ]

    static let options: [BadInputCase] = [
        .init(name: "stop --grace -1", arguments: ["stop", "fake", "--grace", "-1"], expected: "--grace takes a number of seconds from 0 to"),
        .init(name: "hooks --hook-timeout -1", arguments: ["hooks", "run", "unstack", "--hook-timeout", "-1"],
              expected: "invalid --hook-timeout '-1'"),
        .init(name: "HVCTL_HOOK_TIMEOUT=abc", arguments: ["hooks", "run", "unstack"], expected: "invalid HVCTL_HOOK_TIMEOUT 'abc'",
              environment: ["HVCTL_HOOK_TIMEOUT": "abc"]),
    ]

    /// Whatever command meets a broken state file says so and leaves the file for the user.
    static let corruptState: [BadInputCase] = {
        let garbage: @Sendable (BadInputSandbox) throws -> Void = { box in
            try box.replaceState { try box.write($0, Array("{\"version\":1,\"activeDr\u{0}garbage".utf8)) }
        }
        let commands = [
            ["status"], ["drivers"], ["start", "fake"], ["stack", "fake"], ["stop", "fake"], ["switch", "fake"],
            ["instance", "launch", "vm1", "--driver", "fake"], ["instance", "list", "--driver", "fake"], ["hooks", "run", "unstack"],
        ]
        return commands.map {
            BadInputCase(name: "garbage state.json: \($0.joined(separator: " "))", arguments: $0, expected: "state.json is not valid; it was left as it is",
                         setup: garbage)
        } + [
            .init(name: "state.json is a directory: status", arguments: ["status"], expected: "state.json: it is a directory",
                  setup: { box in try box.replaceState { try FileManager.default.createDirectory(atPath: $0, withIntermediateDirectories: false) } }),
            .init(name: "state.json is a directory: start", arguments: ["start", "fake"], expected: "state.json: it is a directory",
                  setup: { box in try box.replaceState { try FileManager.default.createDirectory(atPath: $0, withIntermediateDirectories: false) } }),
            .init(name: "state dir is a file: status", arguments: ["status"], expected: "state is not a directory",
                  setup: { box in try FileManager.default.removeItem(atPath: box.state); try box.write(box.state, Array("x\n".utf8)) }),
            .init(name: "state dir is a file: start", arguments: ["start", "fake"], expected: "state is not a directory",
                  setup: { box in try FileManager.default.removeItem(atPath: box.state); try box.write(box.state, Array("x\n".utf8)) }),
        ]
    }()

    /// A run in the journal, so `hvctl logs --export` gets as far as writing.
    static func emitRun() throws {
        let box = try BadInputSandbox()
        defer { box.remove() }
        try box.hook("10-ok.sh", "echo ok\n")
        _ = try box.hvctl(["hooks", "run", "unstack"], [:])
    }
}

import Foundation
import Glibc
import TestSupport
import Testing

/// Daemons that are up but do not answer (SIGSTOP: the same as one wedged on a stuck QEMU),
/// extreme numbers, and the files hvctl edits: bounded, one line, nothing damaged.
@Suite("faults: frozen daemons, extreme values, edited files (test host)", .serialized)
struct FrozenDaemonTests {
    init() {
        ensureDockerRunning()
        ensureLibvirtRunning()
    }

    static func mainPID(_ unit: String) throws -> Int32 {
        try #require(Int32(try Witness.unitProperty(unit, "MainPID")).flatMap { $0 > 0 ? $0 : nil }, "\(unit) has no main process")
    }

    /// Runs `body` with `unit`'s main process stopped, and lets it go again whatever happens.
    static func frozen(_ unit: String, _ body: () throws -> Void) throws {
        let pid = try mainPID(unit)
        kill(pid, SIGSTOP)
        defer { kill(pid, SIGCONT) }
        try body()
    }

    func oneLine(_ out: Witness.Output, _ args: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let errors = out.stderr.split(separator: "\n").filter { $0.hasPrefix("Error: ") }
        #expect(errors.count == 1, "\(args): \(out.stderr)", sourceLocation: sourceLocation)
        #expect(!out.stderr.contains("Fatal error") && !out.stderr.contains("backtrace"), "\(args): \(out.stderr)", sourceLocation: sourceLocation)
    }

    @Test("libvirtd frozen: status, instance list, cleanup and stack answer within the libvirt timeout and leave the host lock free")
    func frozenLibvirt() throws {
        let h = HvctlHost("hvctl-frozen-libvirt")
        try FileManager.default.createDirectory(atPath: h.dir, withIntermediateDirectories: true)
        defer { h.remove() }
        let conf = h.dir + "/hvctl.conf"
        try "[libvirt]\ntimeout = 3\n".write(toFile: conf, atomically: false, encoding: .utf8)
        #expect(try h.hvctl("start", "libvirt", "--config", conf).status == 0)
        try Self.frozen("libvirtd.service") {
            for args in [["status", "libvirt"], ["instance", "list", "--driver", "libvirt"], ["stack", "libvirt"]] {
                let (out, took) = try h.timed(args + ["--config", conf])
                #expect(out.status != 0 && out.status < 128, "\(args): \(out.status) \(out.stderr)")
                #expect(out.stderr.contains("did not answer"), "\(args): \(out.stderr)")
                oneLine(out, args)
                #expect(took < .seconds(12), "\(args) took \(took)")
            }
            let (clean, cleanTook) = try h.timed(["cleanup", "libvirt", "--config", conf])
            #expect(clean.status != 0, "\(clean.stderr)")
            #expect(clean.stderr.contains("does not answer"), "\(clean.stderr)")
            #expect(cleanTook < .seconds(12), "cleanup libvirt took \(cleanTook)")
            // What hvctl-cleanup.service runs on CI hosts: a frozen daemon is unreachable.
            let (sweep, sweepTook) = try h.timed(["cleanup", "--ignore-unreachable", "--config", conf])
            #expect(sweep.status == 0, "\(sweep.stderr)")
            #expect(sweepTook < .seconds(20), "cleanup --ignore-unreachable took \(sweepTook)")
            // Nothing holds the host lock.
            let (next, nextTook) = try h.timed(["stack", "fake", "--no-wait", "--config", conf])
            #expect(next.status == 0, "\(next.stderr)")
            #expect(nextTook < .seconds(10))
        }
    }

    @Test("dockerd frozen: status and cleanup answer within seconds; --ignore-unreachable succeeds")
    func frozenDocker() throws {
        let h = HvctlHost("hvctl-frozen-docker")
        defer { h.remove() }
        #expect(try h.hvctl("start", "docker").status == 0)
        try Self.frozen("docker.service") {
            for args in [["status", "docker"], ["instance", "list", "--driver", "docker"], ["cleanup", "docker"]] {
                let (out, took) = try h.timed(args)
                #expect(out.status != 0 && out.status < 128, "\(args): \(out.status) \(out.stderr)")
                oneLine(out, args)
                #expect(took < .seconds(15), "\(args) took \(took)")
            }
            let (sweep, took) = try h.timed(["cleanup", "--ignore-unreachable"])
            #expect(sweep.status == 0, "\(sweep.stderr)")
            #expect(took < .seconds(20), "cleanup --ignore-unreachable took \(took)")
        }
    }

    @Test("a --docker-socket that is not a socket, answers garbage, or accepts and stays silent: one line, within seconds")
    func badSockets() async throws {
        let h = HvctlHost("hvctl-bad-socket")
        try FileManager.default.createDirectory(atPath: h.dir, withIntermediateDirectories: true)
        defer { h.remove() }
        let file = h.dir + "/file.sock"
        FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        let fifo = h.dir + "/fifo.sock"
        mkfifo(fifo, 0o644)
        for (path, needle) in [(file, "it is not a socket (it is a regular file)"), (fifo, "it is not a socket (it is a FIFO)"), (h.dir, "it is not a socket (it is a directory)")] {
            let (out, took) = try h.timed(["status", "docker", "--docker-socket", path])
            #expect(out.status != 0 && out.stderr.contains(needle), "\(path): \(out.stderr)")
            oneLine(out, ["status", path])
            #expect(took < .seconds(3), "\(path) took \(took)")
        }
        // A server that answers garbage to anything, and one that accepts and says nothing.
        let garbage = h.dir + "/garbage.sock"
        let silent = h.dir + "/silent.sock"
        let trickling = h.dir + "/trickle.sock"
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = ["-c", """
            import socket, threading
            def serve(path, reply):
                s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(16); held = []
                while True:
                    c, _ = s.accept(); held.append(c)
                    if reply: c.recv(4096); c.sendall(b"garbage, not HTTP\\r\\n\\r\\n"); c.close()
            def trickle(path):
                s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(16)
                while True:
                    c, _ = s.accept(); c.recv(4096)
                    c.sendall(b"HTTP/1.1 200 OK\\r\\nApi-Version: 1.41\\r\\nContent-Length: 100000\\r\\n\\r\\n")
                    def drip(c):
                        try:
                            while True: c.sendall(b"O"); time.sleep(0.5)
                        except Exception: pass
                    threading.Thread(target=drip, args=(c,), daemon=True).start()
            import time
            threading.Thread(target=serve, args=('\(garbage)', True), daemon=True).start()
            threading.Thread(target=trickle, args=('\(trickling)',), daemon=True).start()
            serve('\(silent)', False)
            """]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { kill(server.processIdentifier, SIGKILL) }
        _ = try await eventually { [silent, garbage, trickling].allSatisfy { FileManager.default.fileExists(atPath: $0) } ? true : nil }
        let (bad, badTook) = try h.timed(["status", "docker", "--docker-socket", garbage])
        #expect(bad.status != 0 && bad.stderr.contains("not HTTP"), "\(bad.stderr)")
        oneLine(bad, ["status", "garbage"])
        #expect(badTook < .seconds(8))
        let (mute, muteTook) = try h.timed(["status", "docker", "--docker-socket", silent])
        #expect(mute.status != 0 && mute.stderr.contains("no answer from the Docker daemon"), "\(mute.stderr)")
        oneLine(mute, ["status", "silent"])
        #expect(muteTook < .seconds(10), "a silent socket took \(muteTook)")
        // Headers at once, then the body a byte at a time: still the ping's bound.
        let (slow, slowTook) = try h.timed(["status", "docker", "--docker-socket", trickling])
        #expect(slow.status != 0 && slow.stderr.contains("no answer from the Docker daemon"), "\(slow.stderr)")
        oneLine(slow, ["status", "trickle"])
        #expect(slowTook < .seconds(10), "a trickling socket took \(slowTook)")
    }

    @Test("a failing hook that printed one 10 MB line puts a few hundred bytes of it on the terminal, not a megabyte")
    func hugeLine() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-huge.sh", #"[[ "$1" == source ]] && return 0; head -c 10000000 /dev/zero | tr '\0' x; echo; exit 4"#)
        let h = HvctlHost(top: f.top)
        let (out, took) = try h.timed(["hooks", "run", "stack", "extra", "--driver", "fake", "--extras-dir", f.extras])
        #expect(out.status == 1, "\(out.stderr)")
        #expect(out.stdout.contains("FAIL  20-huge.sh  stack extra  exit 4"))
        #expect(out.stdout.utf8.count < 20_000, "\(out.stdout.utf8.count) bytes on the terminal")
        #expect(out.stdout.contains("more bytes in the journal"), "\(out.stdout.prefix(2000))")
        #expect(took < .seconds(60))
    }

    @Test("hvctl logs -f of a run killed with SIGKILL ends once the run is over")
    func followerOfKilledRun() async throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-wait.sh", #"[[ "$1" == source ]] && return 0; touch "$OUT/started"; echo waiting; exec sleep 600"#)
        let h = HvctlHost(top: f.top)
        let run = try h.spawn(["hooks", "run", "stack", "extra", "--driver", "fake", "--extras-dir", f.extras, "--env", "OUT=\(f.out)"])
        defer { if run.isRunning { kill(run.processIdentifier, SIGKILL) } }
        try #require(try await eventually(timeout: .seconds(20)) { f.read("started") } != nil, "the hook never started")
        let follower = try h.spawn(["logs", "-f"])
        defer { if follower.isRunning { follower.terminate() } }
        try await Task.sleep(for: .seconds(1))
        #expect(follower.isRunning, "the follower ended while the run was going")
        kill(run.processIdentifier, SIGKILL)
        let ended = try await eventually(timeout: .seconds(15), every: .milliseconds(100)) { follower.isRunning ? nil : true }
        #expect(ended == true, "the follower kept following a dead run")
    }

    @Test("Ctrl-C with a hook that ignores SIGTERM returns within seconds and names the hook; a second one quits at once")
    func interrupts() async throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-stubborn.sh", #"[[ "$1" == source ]] && return 0; trap '' TERM; touch "$OUT/started"; while true; do sleep 0.2; done"#)
        let h = HvctlHost(top: f.top)
        let run = ["hooks", "run", "stack", "extra", "--driver", "fake", "--extras-dir", f.extras, "--env", "OUT=\(f.out)"]
        let out = Pipe()
        let first = try h.spawn(run, stdout: out)
        try #require(try await eventually(timeout: .seconds(20)) { f.read("started") } != nil, "the hook never started")
        let clock = ContinuousClock()
        let began = clock.now
        kill(first.processIdentifier, SIGINT)
        first.waitUntilExit()
        let took = clock.now - began
        #expect(took < .seconds(9), "Ctrl-C took \(took)")
        #expect(first.terminationStatus == 130)
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains("interrupted: stopped 20-stubborn.sh"), "\(text)")
        #expect(try loadedUnits(matching: "hvctl-*-extra-20-stubborn.service").isEmpty, "the hook's unit stayed")

        // Twice: hvctl goes at once; the run's reaper stops the hook.
        try? FileManager.default.removeItem(atPath: f.out + "/started")
        let second = try h.spawn(run)
        try #require(try await eventually(timeout: .seconds(20)) { f.read("started") } != nil, "the hook never started")
        kill(second.processIdentifier, SIGINT)
        try await Task.sleep(for: .milliseconds(200))
        let again = clock.now
        kill(second.processIdentifier, SIGINT)
        second.waitUntilExit()
        #expect(clock.now - again < .seconds(2), "a second Ctrl-C did not quit at once")
        let gone = try await eventually(timeout: .seconds(20)) { try loadedUnits(matching: "hvctl-*-extra-20-stubborn.service").isEmpty ? true : nil }
        #expect(gone == true, "nothing stopped the hook after hvctl quit")
    }

    @Test("a hook that exits but leaves a TERM-proof child is reported by its own exit at once, and the child is killed within seconds")
    func leftoverChild() async throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-leaves.sh", #"[[ "$1" == source ]] && return 0; (trap '' TERM; exec sleep 600) & echo $! > "$OUT/child"; exit 3"#)
        let h = HvctlHost(top: f.top)
        let (out, took) = try h.timed(["hooks", "run", "stack", "extra", "--driver", "fake", "--extras-dir", f.extras, "--env", "OUT=\(f.out)"])
        #expect(out.status == 1, "\(out.stdout) \(out.stderr)")
        #expect(out.stdout.contains("FAIL  20-leaves.sh  stack extra  exit 3"), "\(out.stdout)")
        #expect(took < .seconds(10), "took \(took)")
        let child = try #require(f.read("child")?.trimmingCharacters(in: .whitespacesAndNewlines))
        let gone = try await eventually(timeout: .seconds(12)) { FileManager.default.fileExists(atPath: "/proc/\(child)") ? nil : true }
        #expect(gone == true, "the TERM-proof child outlived its hook")
    }

    @Test("journald not running: hooks still run, hvctl says their output goes unrecorded, and logs never shows an older run as the latest")
    func withoutJournald() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("10-a.sh", #"[[ "$1" == source ]] && return 0; echo hi; touch "$OUT/ran""#)
        let h = HvctlHost(top: f.top)
        let run = ["hooks", "run", "stack", "extra", "--driver", "fake", "--extras-dir", f.extras, "--env", "OUT=\(f.out)"]
        #expect(try h.hvctl(run).status == 0)  // an older run, in the journal
        let journald = ["systemd-journald.socket", "systemd-journald-dev-log.socket", "systemd-journald.service"]
        try Witness.run(["systemctl", "stop", "systemd-journald-audit.socket"] + journald)
        defer { _ = try? Witness.run(["systemctl", "start"] + journald) }
        let out = try h.hvctl(run)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(f.read("ran") != nil, "the hook did not run")
        #expect(out.stderr.contains("journald is not running"), "\(out.stderr)")
        let logs = try h.hvctl("logs")
        #expect(logs.status != 0 && logs.stderr.contains("is not in the journal"), "\(logs.stdout) \(logs.stderr)")
        oneLine(logs, ["logs"])
        try Witness.run(["systemctl", "start"] + journald)
        #expect(try h.hvctl(run).status == 0)
        #expect(try h.hvctl("logs").status == 0, "a journaled run after it is the latest again")
    }

    @Test("Ctrl-C while stack starts docker.service: the state says hvctl started it, so unstack stops it")
    func interruptedStart() async throws {
        let h = HvctlHost("hvctl-interrupted-start")
        defer { h.remove(); ensureDockerRunning() }
        try Witness.run(["systemctl", "stop", "docker.socket", "docker.service"])
        let stack = try h.spawn(["stack", "docker"])
        let starting = try await eventually(timeout: .seconds(30), every: .milliseconds(20)) {
            ["activating", "active"].contains(try Witness.unitProperty("docker.service", "ActiveState")) ? true : nil
        }
        try #require(starting == true, "docker.service never started")
        kill(stack.processIdentifier, SIGINT)
        stack.waitUntilExit()
        _ = try await eventually(timeout: .seconds(60)) { try Witness.unitProperty("docker.service", "ActiveState") == "active" ? true : nil }
        let state = try String(contentsOfFile: h.state + "/state.json", encoding: .utf8)
        #expect(state.contains("\"startedByHvctl\" : true"), "\(state)")
        let unstack = try h.hvctl("unstack", "docker")
        #expect(unstack.status == 0, "\(unstack.stderr)")
        #expect(try Witness.unitProperty("docker.service", "ActiveState") == "inactive", "unstack left the daemon hvctl started running")
    }

    @Test("extreme numbers are one-line errors, never a trap", arguments: [
        (["hooks", "run", "unstack", "--hook-timeout", "20000000000000"], [String: String](), "invalid --hook-timeout"),
        (["hooks", "run", "unstack"], ["HVCTL_HOOK_TIMEOUT": "20000000000000"], "invalid HVCTL_HOOK_TIMEOUT"),
        (["stop", "fake", "--grace", "99999999999999"], [:], "--grace takes a number of seconds from 0 to"),
        (["hooks", "run", "unstack", "--hook-timeout", "99999999999999999999999"], [:], "--hook-timeout"),
        (["logs", "-n", "99999999999999999999999"], [:], "-n"),
    ])
    func extremes(_ args: [String], _ env: [String: String], _ needle: String) throws {
        let h = HvctlHost("hvctl-extreme")
        try FileManager.default.createDirectory(atPath: h.dir + "/extras.d", withIntermediateDirectories: true)
        defer { h.remove() }
        let extra = args.first == "hooks" || args.first == "stop" ? ["--extras-dir", h.dir + "/extras.d"] : []
        let (out, _) = try h.timed(args + extra, environment: env)
        #expect(out.status != 0 && out.status < 128, "\(args): \(out.status) \(out.stderr)")
        #expect(out.stderr.contains(needle), "\(args): \(out.stderr)")
        oneLine(out, args)
        #expect(!FileManager.default.fileExists(atPath: h.state + "/runs"), "\(args) took a lease before refusing")
    }

    @Test("[hook_timeout] past a year is refused with its file and line")
    func configTimeout() throws {
        let h = HvctlHost("hvctl-extreme-conf")
        try FileManager.default.createDirectory(atPath: h.dir + "/extras.d", withIntermediateDirectories: true)
        defer { h.remove() }
        try "[hook_timeout]\n10-foo = 20000000000000\n".write(toFile: h.dir + "/hvctl.conf", atomically: false, encoding: .utf8)
        let out = try h.hvctl("hooks", "run", "unstack", "--extras-dir", h.dir + "/extras.d", "--config", h.dir + "/hvctl.conf")
        #expect(out.status != 0 && out.status < 128)
        #expect(out.stderr.contains("hvctl.conf:2: 10-foo takes a number of seconds from 1 to"), "\(out.stderr)")
    }

    @Test("the compute config keeps owner, group, mode, CRLF and its symlink; one [DEFAULT] even when its header has a comment")
    func computeConfigKept() throws {
        let h = HvctlHost("hvctl-nova-conf")
        let etc = h.dir + "/etc"
        try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
        defer { h.remove() }
        let real = etc + "/nova.conf"
        try "[DEFAULT] # main\r\ncompute_driver = libvirt.LibvirtDriver\r\ndebug = true\r\n".write(toFile: real, atomically: false, encoding: .utf8)
        chown(real, 0, 4242)
        chmod(real, 0o640)
        let link = h.dir + "/nova.conf"
        symlink(real, link)
        let out = try h.hvctl("stack", "fake", "--compute-config", link)
        #expect(out.status == 0, "\(out.stderr)")
        var st = stat()
        #expect(lstat(link, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK, "the symlink became a file")
        #expect(stat(real, &st) == 0 && st.st_uid == 0 && st.st_gid == 4242 && st.st_mode & 0o7777 == 0o640, "owner, group or mode changed")
        let text = try String(contentsOfFile: real, encoding: .utf8)
        #expect(text == "[DEFAULT] # main\r\ncompute_driver = fake.FakeDriver\r\ndebug = true\r\n", "\(text.debugDescription)")
        // A directory or FIFO in its place is refused by name, at once.
        let fifo = h.dir + "/fifo.conf"
        mkfifo(fifo, 0o644)
        let (bad, took) = try h.timed(["stack", "fake", "--compute-config", fifo])
        #expect(bad.status != 0 && bad.stderr.contains("\(fifo) is a FIFO"), "\(bad.stderr)")
        #expect(took < .seconds(10))
    }
}

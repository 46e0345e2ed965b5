import Foundation
import Glibc
import TestSupport
import Testing

/// A real non-root account in the test host, and commands run as it.
struct Attacker {
    static let name = "hvctl-attacker"
    let uid: uid_t
    let gid: gid_t
    /// A directory the attacker owns, in /tmp (root-owned and sticky, as on every host).
    let home: String

    init() throws {
        if getpwnam(Self.name) == nil {
            let made = try Witness.run(["useradd", "--no-create-home", "--shell", "/bin/sh", Self.name])
            try #require(made.status == 0, "useradd: \(made.stderr)")
        }
        let entry = try #require(getpwnam(Self.name))
        uid = entry.pointee.pw_uid
        gid = entry.pointee.pw_gid
        home = "/tmp/" + uniqueName("attacker")
        try #require(try as_(["mkdir", "-m", "0755", home]).status == 0)
    }

    /// Runs `command` as the attacker: no root, no capabilities, no supplementary groups.
    @discardableResult
    func as_(_ command: [String]) throws -> Witness.Output {
        try Witness.run(["setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--"] + command)
    }

    /// `script` in sh, as the attacker.
    @discardableResult
    func sh(_ script: String) throws -> Witness.Output { try as_(["/bin/sh", "-c", script]) }

    /// A script of the attacker's that, if anyone ever runs it, leaves `proof` behind,
    /// owned by whoever ran it.
    func payload(_ file: String, proof: String) throws -> String {
        let path = home + "/" + file
        try #require(try sh("printf '%s\\n' 'touch \(proof) 2>/dev/null; id -u > \(proof) 2>/dev/null; true' > \(path) && chmod 0755 \(path)").status == 0)
        return path
    }

    /// Files under the attacker's directory that root owns: what hvctl would have written
    /// there on the attacker's behalf. The test itself makes none.
    func rootOwnedFiles() throws -> [String] {
        try Witness.run(["find", home, "-uid", "0"]).stdout.split(separator: "\n").map(String.init)
    }

    func remove() { _ = try? Witness.run(["rm", "-rf", home]) }
}

/// Every refusal: non-zero, below 128 (not a crash), one line on stderr.
func expectRefused(_ out: Witness.Output, _ needle: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(out.status != 0 && out.status < 128, "exit \(out.status): \(out.stderr)", sourceLocation: sourceLocation)
    #expect(out.stderr.contains(needle), "\(out.stderr)", sourceLocation: sourceLocation)
    #expect(out.stderr.trimmingCharacters(in: .newlines).split(separator: "\n").count == 1, "not one line: \(out.stderr)", sourceLocation: sourceLocation)
}

@Suite("security: a real non-root user attacks hvctl running as root (test host)", .serialized)
struct SecurityTests {
    @Test("a root-owned extras.d inside the attacker's directory is refused, before and while they swap it")
    func swappedExtras() async throws {
        let a = try Attacker()
        defer { a.remove() }
        let h = HvctlHost("hvctl-sec-swap")
        defer { h.remove() }
        let proof = a.home + "/pwned"
        // Root's hook, in a root-owned extras.d, in a directory the attacker owns.
        let extras = a.home + "/extras.d"
        try FileManager.default.createDirectory(atPath: extras, withIntermediateDirectories: false)
        try "true\n".write(toFile: extras + "/10-a.sh", atomically: false, encoding: .utf8)
        chmod(extras + "/10-a.sh", 0o644)
        // The attacker's look-alike, ready to be swapped in.
        let evil = try a.payload("evil.sh", proof: proof)
        try a.sh("mkdir -m 0755 \(a.home)/evil.d && cp \(evil) \(a.home)/evil.d/10-a.sh")
        let run = ["hooks", "run", "stack", "install", "--driver", "fake", "--extras-dir", extras]

        expectRefused(try h.hvctl(run), "\(a.home) is owned by uid \(a.uid)")

        // Swap back and forth while root runs the hooks again and again.
        let swapper = Process()
        swapper.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        swapper.arguments = [
            "--reuid=\(a.uid)", "--regid=\(a.gid)", "--clear-groups", "--", "/bin/sh", "-c",
            "cd \(a.home); end=$(( $(date +%s) + 4 )); while [ $(date +%s) -lt $end ]; do mv extras.d root.d; mv evil.d extras.d; mv extras.d evil.d; mv root.d extras.d; done",
        ]
        try swapper.run()
        for _ in 0..<8 {
            let out = try h.hvctl(run)
            #expect(out.status != 0, "a run went through: \(out.stdout)")
        }
        swapper.waitUntilExit()
        #expect(!FileManager.default.fileExists(atPath: proof), "the attacker's script ran")
        // Only what the test made as root: the directory and its hook, whatever they are called now.
        let rootOwned = try a.rootOwnedFiles().filter { !$0.hasSuffix("/10-a.sh") && !["extras.d", "root.d", "evil.d"].contains(($0 as NSString).lastPathComponent) }
        #expect(rootOwned.isEmpty, "root wrote on the attacker's behalf: \(rootOwned)")
    }

    @Test("a writable TOP_DIR, or a writable directory anywhere under TOP_DIR/lib, is refused, naming every unsafe path")
    func writableTree() throws {
        let a = try Attacker()
        defer { a.remove() }
        let f = try HookFixture()
        defer { f.remove() }
        // State elsewhere: a state directory under the writable TOP_DIR would be refused first.
        let h = HvctlHost("hvctl-sec-tree")
        defer { h.remove() }
        let proof = a.home + "/pwned"
        try f.add("10-uses-lib.sh", #"[[ "$1" == source ]] && source "$TOP_DIR/lib/plugins/inner/helper.sh"; true"#)
        for dir in ["lib", "lib/plugins", "lib/plugins/inner"] {
            try FileManager.default.createDirectory(atPath: f.top + "/" + dir, withIntermediateDirectories: true)
            chmod(f.top + "/" + dir, 0o755)
        }
        try f.add("helper.sh", "true\n", in: f.top + "/lib/plugins/inner")
        let run = ["hooks", "run", "stack", "install", "--driver", "fake", "--extras-dir", f.extras]
        #expect(try h.hvctl(run).status == 0)

        // Two levels down, world-writable: the attacker replaces what the hook sources.
        chmod(f.top + "/lib/plugins/inner", 0o777)
        let evil = try a.payload("evil.sh", proof: proof)
        try a.sh("rm -f \(f.top)/lib/plugins/inner/helper.sh; cp \(evil) \(f.top)/lib/plugins/inner/helper.sh")
        expectRefused(try h.hvctl(run), "\(f.top)/lib/plugins/inner is writable by others (mode 0777)")
        // And a world-writable TOP_DIR as well: both in the same line, sorted.
        chmod(f.top, 0o757)
        let both = try h.hvctl(run)
        expectRefused(both, "2 unsafe paths: \(f.top) is writable by others (mode 0757); \(f.top)/lib/plugins/inner")
        // The attacker's file, owned by them, is named too once its directory is fixed.
        chmod(f.top, 0o755)
        chmod(f.top + "/lib/plugins/inner", 0o755)
        expectRefused(try h.hvctl(run), "\(f.top)/lib/plugins/inner/helper.sh is owned by uid \(a.uid)")
        #expect(!FileManager.default.fileExists(atPath: proof), "the attacker's script ran as root")
    }

    @Test("a configuration file others can write is refused; BASH_ENV, LD_PRELOAD and other shell-starting names are refused from it and from --env")
    func config() throws {
        let a = try Attacker()
        defer { a.remove() }
        let f = try HookFixture()
        defer { f.remove() }
        let h = HvctlHost(top: f.top)
        let proof = a.home + "/pwned"
        let evil = try a.payload("evil.sh", proof: proof)
        try f.add("10-a.sh", "true\n")
        let conf = f.top + "/hvctl.conf"
        let run = ["hooks", "run", "stack", "install", "--driver", "fake", "--extras-dir", f.extras, "--config", conf]

        try "[hook_env]\nFOO = bar\n".write(toFile: conf, atomically: false, encoding: .utf8)
        chmod(conf, 0o666)
        try a.sh("printf '[hook_env]\\nBASH_ENV = \(evil)\\n' > \(conf)")
        expectRefused(try h.hvctl(run), "refusing to read the configuration: \(conf) is writable by others (mode 0666)")
        // The attacker's own file, in their own directory.
        let theirs = a.home + "/hvctl.conf"
        try a.sh("printf '[hook_env]\\nBASH_ENV = \(evil)\\n' > \(theirs)")
        expectRefused(try h.hvctl(["status", "--config", theirs]), "is owned by uid \(a.uid)")

        // Root's own file, safe, but naming variables that change how bash starts.
        for (name, value) in [("BASH_ENV", evil), ("ENV", evil), ("SHELLOPTS", "xtrace"), ("PS4", "$(\(evil))"), ("IFS", "/"), ("LD_PRELOAD", evil)] {
            try "[hook_env]\n\(name) = \(value)\n".write(toFile: conf, atomically: false, encoding: .utf8)
            chmod(conf, 0o644)
            expectRefused(try h.hvctl(run), "\(conf):2: \(name) changes how every hook's shell starts")
            expectRefused(
                try h.hvctl(["hooks", "run", "stack", "install", "--driver", "fake", "--extras-dir", f.extras, "--env", "\(name)=\(value)"]),
                "refusing --env \(name)")
        }
        expectRefused(try h.hvctl(["hooks", "run", "unstack", "--extras-dir", f.extras, "--env", "1X=y"]), "invalid --env '1X=y'")
        try "[hook_env]\nBAD-NAME = x\n".write(toFile: conf, atomically: false, encoding: .utf8)
        expectRefused(try h.hvctl(run), "\(conf):2: 'BAD-NAME' is not a shell variable name")
        #expect(!FileManager.default.fileExists(atPath: proof), "the attacker's script ran")
    }

    @Test("trusted_users widens trust only from a root-owned file: then a checkout the named user owns runs")
    func trustedUsers() throws {
        let a = try Attacker()
        defer { a.remove() }
        let h = HvctlHost("hvctl-sec-trusted")
        try FileManager.default.createDirectory(atPath: h.dir, withIntermediateDirectories: true)
        defer { h.remove() }
        // A DevStack-style checkout owned by the user (say, `stack`).
        try a.sh("mkdir -m 0755 \(a.home)/extras.d && printf 'echo hi >/dev/null\\n' > \(a.home)/extras.d/10-a.sh && chmod 0644 \(a.home)/extras.d/10-a.sh")
        let run = ["hooks", "run", "stack", "install", "--driver", "fake", "--extras-dir", a.home + "/extras.d"]
        expectRefused(try h.hvctl(run), "is owned by uid \(a.uid)")
        let conf = h.dir + "/hvctl.conf"
        try "trusted_users = \(Attacker.name)\n".write(toFile: conf, atomically: false, encoding: .utf8)
        chmod(conf, 0o644)
        #expect(try h.hvctl(run + ["--config", conf]).status == 0)
        // Named in a file the user could have written, it is refused.
        let theirs = a.home + "/hvctl.conf"
        try a.sh("printf 'trusted_users = \(Attacker.name)\\n' > \(theirs)")
        expectRefused(try h.hvctl(run + ["--config", theirs]), "refusing to read the configuration")
        try "trusted_users = nosuchuser-hvctl\n".write(toFile: conf, atomically: false, encoding: .utf8)
        expectRefused(try h.hvctl(run + ["--config", conf]), "\(conf):1: trusted_users: no such user 'nosuchuser-hvctl'")
    }

    @Test("a state or runtime directory the attacker made is refused: no planted lease is taken, nothing is written there")
    func plantedState() throws {
        let a = try Attacker()
        defer { a.remove() }
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("10-a.sh", "true\n")
        let proof = a.home + "/pwned"
        let evil = try a.payload("evil.sh", proof: proof)
        let state = a.home + "/state"
        let lease = #"{"command":"x","endpoints":{"docker":"/run/docker.sock","libvirt":"qemu+ext:///system?command=\#(evil)"},"drivers":["libvirt"],"pid":1,"run":"0123456789","started":"2026-11-25T00:00:00Z"}"#
        try a.sh("mkdir -p -m 0755 \(state)/runs && printf '%s' '\(lease)' > \(state)/runs/0123456789.lease")
        let env = ["HVCTL_STATE_DIR": state, "HVCTL_RUNTIME_DIR": f.top + "/run"]
        for args in [["reap"], ["cleanup", "--ignore-unreachable"], ["status", "fake"], ["hooks", "run", "unstack", "--extras-dir", f.extras, "--driver", "fake"], ["stack", "fake"]] {
            let out = try Witness.run([hvctlBinary] + args, environment: env)
            expectRefused(out, "refusing to use the state directory: ")
            #expect(out.stderr.contains("\(a.home) is owned by uid \(a.uid)"), "\(args): \(out.stderr)")
        }
        // A runtime directory of theirs: hvctl would write the functions file hooks source there.
        let runtime = a.home + "/run"
        try a.sh("mkdir -m 0755 \(runtime)")
        let out = try Witness.run(
            [hvctlBinary, "hooks", "run", "unstack", "--extras-dir", f.extras, "--driver", "fake"],
            environment: ["HVCTL_STATE_DIR": f.top + "/state", "HVCTL_RUNTIME_DIR": runtime])
        expectRefused(out, "\(runtime) is owned by uid \(a.uid)")
        let rootOwned = try a.rootOwnedFiles()
        #expect(rootOwned.isEmpty, "root wrote on the attacker's behalf: \(rootOwned)")
        #expect(!FileManager.default.fileExists(atPath: proof), "the attacker's program ran")
    }

    @Test("a lease in a safe state directory naming an endpoint hvctl is not configured with is reported and left; nothing is dialled")
    func leaseEndpoint() throws {
        let a = try Attacker()
        defer { a.remove() }
        let h = HvctlHost("hvctl-sec-lease")
        defer { h.remove() }
        let proof = a.home + "/pwned"
        let evil = try a.payload("evil.sh", proof: proof)
        try FileManager.default.createDirectory(atPath: h.state + "/runs", withIntermediateDirectories: true)
        let lease = h.state + "/runs/0123456789.lease"
        try #"{"command":"x","endpoints":{"docker":"/run/docker.sock","libvirt":"qemu+ext:///system?command=\#(evil)"},"drivers":["libvirt"],"pid":1,"run":"0123456789","started":"2026-11-25T00:00:00Z"}"#
            .write(toFile: lease, atomically: false, encoding: .utf8)
        let reap = try h.hvctl("reap")
        #expect(reap.status != 0)
        #expect(reap.stderr.contains("libvirt endpoint qemu+ext:///system?command=\(evil), which this host's hvctl is not configured with"), "\(reap.stderr)")
        #expect(FileManager.default.fileExists(atPath: lease), "the lease went")
        let cleanup = try h.hvctl("cleanup", "--ignore-unreachable")
        #expect(cleanup.status != 0)
        #expect(FileManager.default.fileExists(atPath: lease), "the lease went")
        // The same spelled differently is the same endpoint; another scheme or a query is not.
        try #"{"command":"x","endpoints":{"docker":"/run//docker.sock","libvirt":"QEMU:///system/"},"drivers":["fake"],"pid":1,"run":"0123456789","started":"2026-11-25T00:00:00Z"}"#
            .write(toFile: lease, atomically: false, encoding: .utf8)
        let fine = try h.hvctl("reap")
        #expect(fine.status == 0, "\(fine.stderr)")
        #expect(!FileManager.default.fileExists(atPath: lease))
        #expect(!FileManager.default.fileExists(atPath: proof), "the lease's program ran")
    }

    @Test("journal entries the attacker forges with hvctl's fields are not runs or hook lines, and an export into their directory is refused")
    func forgedJournal() throws {
        let a = try Attacker()
        defer { a.remove() }
        let f = try HookFixture()
        defer { f.remove() }
        let h = HvctlHost(top: f.top)
        try f.add("10-real.sh", #"[[ "$1" == source ]] && return 0; echo real-line"#)
        #expect(try h.hvctl(["hooks", "run", "stack", "install", "--driver", "fake", "--extras-dir", f.extras]).status == 0)
        let forged = "f0f0f0f0f0"
        // What `logger --journald` lets anyone send: a run start, a hook's line, a driver's step.
        let entry = { (fields: String) in "printf '\(fields)\\n' | logger --journald" }
        try a.sh(entry("MESSAGE=hvctl run \(forged) started\\nHVCTL_RUN=\(forged)\\nHVCTL_EVENT=run-start"))
        try a.sh(entry("MESSAGE=forged-line\\nHVCTL_RUN=\(forged)\\nHVCTL_HOOK=10-real.sh\\nHVCTL_PHASE=install\\nHVCTL_DRIVER=docker"))
        usleep(300_000)
        let latest = try h.hvctl("logs")
        #expect(latest.status == 0, "\(latest.stderr)")
        #expect(latest.stdout.contains("real-line") && !latest.stdout.contains("forged-line"), "\(latest.stdout)")
        let byRun = try h.hvctl("logs", "--run", forged)
        #expect(byRun.status != 0 && byRun.stderr.contains("holds nothing of run"), "\(byRun.stdout) \(byRun.stderr)")
        #expect(!(try h.hvctl("logs", "docker", "-n", "200").stdout.contains("forged-line")))

        // An artifacts directory of theirs, with links aimed at root's files.
        let art = a.home + "/art"
        let victim = "/etc/hvctl-test-victim-\(uniqueName("v"))"
        try a.sh("mkdir -m 0755 \(art) && ln -s \(victim) \(art)/other.log && ln -s \(victim) \(art)/entries.journal-export")
        let export = try h.hvctl("logs", "--export", art)
        expectRefused(export, "refusing to export logs to \(art)")
        #expect(!FileManager.default.fileExists(atPath: victim), "root wrote through the attacker's link")
        try? FileManager.default.removeItem(atPath: victim)
    }

    @Test("--user \"\" is refused, never root; so is a user that does not exist")
    func emptyUser() throws {
        let f = try HookFixture()
        defer { f.remove() }
        let h = HvctlHost(top: f.top)
        try f.add("10-a.sh", #"[[ "$1" == source ]] && return 0; id -u > "$OUT/uid""#)
        expectRefused(
            try h.hvctl(["hooks", "run", "stack", "install", "--driver", "fake", "--extras-dir", f.extras, "--env", "OUT=\(f.out)", "--user", ""]),
            "invalid --user '': it is empty")
        expectRefused(
            try h.hvctl(["stack", "fake", "--extras-dir", f.extras, "--user", "nosuchuser-hvctl"]), "invalid --user 'nosuchuser-hvctl': no such user")
        #expect(f.read("uid") == nil, "a hook ran")
    }
}

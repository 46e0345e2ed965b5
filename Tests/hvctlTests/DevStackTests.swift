import Foundation
import TestSupport
import Testing

/// Records what a hook sees in each call, into $OUT/calls, and in post-config what the
/// install call left behind.
let probeHook = #"""
    echo "$* VIRT_DRIVER=$VIRT_DRIVER" >>"$OUT/calls"
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        PROBE_FROM_INSTALL=seen-in-install
        export PROBE_EXPORTED=exported-in-install
        probe_function() { echo "probe function defined in install"; }
        cd /tmp
    fi
    if [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        {
            echo "PROBE_FROM_INSTALL=${PROBE_FROM_INSTALL:-unset}"
            echo "PROBE_EXPORTED=$(bash -c 'echo ${PROBE_EXPORTED:-unset}')"
            if type -t probe_function >/dev/null; then probe_function; else echo "probe function missing"; fi
            echo "DEST=$DEST STACK_USER=$STACK_USER DISTRO=$DISTRO"
            echo "per call: HVCTL_PHASE=$HVCTL_PHASE HVCTL_HOOK=$HVCTL_HOOK PWD=$PWD cwd=$(pwd)"
            for f in git_clone pip_install install_package is_ubuntu setup_develop get_or_create_project stop_process; do
                echo "$f=$(type -t $f)"
            done
            echo "merged-yet=$(grep -c '^debug' "${HVCTL_TEST_CONF:-/nonexistent}" 2>/dev/null || echo 0)"
        } >"$OUT/post-config"
    fi
    """#

@Suite(
    "DevStack mode: real DevStack's environment, local.conf and plugins (test host)", .serialized,
    .enabled(if: DevStackFixture.available, Comment(rawValue: DevStackFixture.skipReason)))
struct DevStackTests {
    func hvctl(_ f: DevStackFixture, _ args: [String], env: [String: String] = [:]) throws -> Witness.Output {
        try Witness.run([hvctlBinary] + args + ["--top-dir", f.top, "--env", "OUT=\(f.out)"], environment: f.env.merging(env) { $1 })
    }

    /// `hvctl hooks list -o json`, parsed.
    func listing(_ f: DevStackFixture) throws -> [String: Any] {
        let out = try Witness.run([hvctlBinary, "hooks", "list", "-o", "json", "--top-dir", f.top], environment: f.env)
        #expect(out.status == 0, "\(out.stderr)")
        return try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any] ?? [:]
    }

    func topDirListing(_ f: DevStackFixture) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: f.top).sorted()
    }

    @Test("stack: a hook's variables, exports and functions from install are seen in post-config; DevStack's own are there; nothing is written into TOP_DIR")
    func stateCarries() throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        try f.addHook("50-probe.sh", probeHook)
        let before = try topDirListing(f)
        // VIRT_DRIVER in local.conf wins over the environment's, as in DevStack.
        let out = try hvctl(f, ["stack"], env: ["VIRT_DRIVER": "libvirt"])
        #expect(out.status == 0, "\(out.stdout)\n\(out.stderr)")
        let seen = f.read("post-config")
        #expect(seen.contains("PROBE_FROM_INSTALL=seen-in-install"), "\(seen)")
        #expect(seen.contains("PROBE_EXPORTED=exported-in-install"), "\(seen)")
        #expect(seen.contains("probe function defined in install"), "\(seen)")
        #expect(seen.contains("DEST=\(f.dest) STACK_USER=root DISTRO=bookworm"), "\(seen)")
        #expect(seen.contains("per call: HVCTL_PHASE=post-config HVCTL_HOOK=50-probe.sh PWD=\(f.top) cwd=\(f.top)"), "\(seen)")
        for function in ["git_clone", "pip_install", "install_package", "is_ubuntu", "setup_develop", "get_or_create_project", "stop_process"] {
            #expect(seen.contains("\(function)=function"), "\(function) missing: \(seen)")
        }
        let calls = f.read("calls").split(separator: "\n").map(String.init)
        #expect(calls == [
            "override_defaults VIRT_DRIVER=fake", "source VIRT_DRIVER=fake", "stack pre-install VIRT_DRIVER=fake",
            "stack install VIRT_DRIVER=fake", "stack post-config VIRT_DRIVER=fake", "stack extra VIRT_DRIVER=fake",
            "stack test-config VIRT_DRIVER=fake",
        ])
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: f.state + "/state.json"))) as? [String: Any]
        #expect(state?["activeDriver"] as? String == "fake")
        #expect(try topDirListing(f) == before, "hvctl leaves no .localrc.auto, .stackenv or password file in TOP_DIR")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: f.runtime + "/shell")) ?? []).isEmpty, "the run's shell state is removed")
    }

    @Test("--driver wins over local.conf, local.conf over $VIRT_DRIVER")
    func driverPrecedence() throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        try f.addHook("50-probe.sh", probeHook)
        #expect(try hvctl(f, ["hooks", "run", "stack", "install", "--driver", "docker"], env: ["VIRT_DRIVER": "libvirt"]).status == 0)
        #expect(try hvctl(f, ["hooks", "run", "stack", "install"], env: ["VIRT_DRIVER": "libvirt"]).status == 0)
        let calls = f.read("calls").split(separator: "\n").filter { $0.hasPrefix("stack install") }
        #expect(calls == ["stack install VIRT_DRIVER=docker", "stack install VIRT_DRIVER=fake"])
    }

    @Test("local.conf's [[post-config|FILE]] is merged into FILE after the post-config hooks")
    func postConfigMerged() throws {
        let f = try DevStackFixture(
            localrc: ["VIRT_DRIVER=fake", "disable_service tempest", "HVCTL_TEST_CONF=$DEST/etc/test.conf"],
            meta: "[[post-config|$HVCTL_TEST_CONF]]\n[DEFAULT]\ndebug = True\n[compute]\ncpu_mode = host\n")
        defer { f.remove() }
        try f.addHook("50-probe.sh", probeHook)
        let out = try hvctl(f, ["hooks", "run", "stack", "post-config"])
        #expect(out.status == 0, "\(out.stdout)\n\(out.stderr)")
        #expect(f.read("post-config").contains("merged-yet=0"), "the hooks run before the merge")
        let merged = (try? String(contentsOfFile: f.dest + "/etc/test.conf", encoding: .utf8)) ?? ""
        #expect(merged.contains("[DEFAULT]") && merged.contains("debug = True"), "\(merged)")
        #expect(merged.contains("[compute]") && merged.contains("cpu_mode = host"), "\(merged)")
        #expect(out.stdout.contains("devstack:merge-post-config"))
        var st = stat()
        #expect(stat(f.dest + "/etc", &st) == 0 && st.st_uid == 0 && st.st_mode & 0o7777 == 0o755,
                "the missing directory is made root's, not handed to STACK_USER before the write")
    }

    @Test("unstack and clean: the source phase, then their own call; clean builds a fresh environment after unstack")
    func unstackAndClean() throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        try f.addHook("50-probe.sh", probeHook)
        #expect(try hvctl(f, ["stack"]).status == 0)
        try? FileManager.default.removeItem(atPath: f.out + "/calls")
        let out = try hvctl(f, ["clean"])
        #expect(out.status == 0, "\(out.stdout)\n\(out.stderr)")
        let calls = f.read("calls").split(separator: "\n").map { $0.replacingOccurrences(of: " VIRT_DRIVER=fake", with: "") }
        #expect(calls == ["override_defaults", "source", "unstack", "override_defaults", "source", "clean"])
        #expect(out.stdout.components(separatedBy: "devstack:settings").count - 1 == 2, "two environments: \(out.stdout)")
    }
}

/// A DevStack plugin as a git repository the test serves by a file:// URL.
struct TinyPlugin {
    let source: String

    init(in f: DevStackFixture) throws {
        source = f.root + "/src/tiny"
        let devstack = source + "/devstack"
        try FileManager.default.createDirectory(atPath: devstack + "/files/debs", withIntermediateDirectories: true)
        let files = [
            "override-defaults": #"TINY_OVERRIDE=from-override-defaults; echo "tiny override-defaults" >>"$OUT/calls""#,
            "settings": #"enable_service tiny-svc; TINY_SETTING=from-settings; echo "tiny settings TINY_OVERRIDE=$TINY_OVERRIDE" >>"$OUT/calls""#,
            "plugin.sh": #"""
                if is_service_enabled tiny-svc; then
                    echo "tiny plugin.sh $* TINY_SETTING=$TINY_SETTING NOVA_CONF=$NOVA_CONF" >>"$OUT/calls"
                fi
                """#,
            "files/debs/tiny": "tiny-package-one\ntiny-package-two # why it is needed\n# a comment\n",
        ]
        for (name, text) in files {
            try (text + "\n").write(toFile: devstack + "/" + name, atomically: false, encoding: .utf8)
        }
        for command in [
            ["git", "-C", source, "init", "-q", "-b", "master"], ["git", "-C", source, "add", "."],
            ["git", "-C", source, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "tiny"],
        ] {
            let out = try Witness.run(command)
            guard out.status == 0 else { throw DevStackFixture.FixtureMissing(reason: out.stderr) }
        }
    }

    var url: String { "file://" + source }
}

extension DevStackTests {
    @Test("enable_plugin: cloned from a file:// URL into $DEST/NAME; override-defaults, settings and plugin.sh run after extras.d, in state; files/debs listed")
    func tinyPlugin() throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        let tiny = try TinyPlugin(in: f)
        try f.writeLocalConf(localrc: ["VIRT_DRIVER=fake", "disable_service tempest", "enable_plugin tiny \(tiny.url) master"])
        try f.addHook("50-probe.sh", probeHook)

        let plugins = try listing(f)["plugins"] as? [[String: Any]] ?? []
        #expect(plugins.map { $0["name"] as? String } == ["tiny"])
        #expect(plugins.first?["directory"] as? String == f.dest + "/tiny")
        #expect(!FileManager.default.fileExists(atPath: f.dest + "/tiny"), "listing clones nothing")

        let out = try hvctl(f, ["hooks", "run", "stack", "install"])
        #expect(out.status == 0, "\(out.stdout)\n\(out.stderr)")
        #expect(FileManager.default.fileExists(atPath: f.dest + "/tiny/devstack/plugin.sh"), "cloned into $DEST/tiny")
        let calls = f.read("calls").split(separator: "\n").map(String.init)
        #expect(calls == [
            "override_defaults VIRT_DRIVER=fake", "tiny override-defaults",
            "source VIRT_DRIVER=fake", "tiny settings TINY_OVERRIDE=from-override-defaults",
            "stack install VIRT_DRIVER=fake", "tiny plugin.sh stack install TINY_SETTING=from-settings NOVA_CONF=/etc/nova/nova.conf",
        ])
        #expect(out.stdout.contains("plugin:tiny  stack install"), "\(out.stdout)")
        // Its checkout is there now: the listing names its packages.
        let packages = (try listing(f)["plugins"] as? [[String: Any]])?.first?["packages"] as? [String]
        #expect(packages == ["tiny-package-one", "tiny-package-two"])
    }

    @Test("enable_plugin with no checkout and an unreachable URL stops with one line saying where to put it")
    func pluginMissing() throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest", "enable_plugin nowhere file:///nonexistent/nowhere"])
        defer { f.remove() }
        let out = try hvctl(f, ["hooks", "run", "stack", "install"])
        #expect(out.status != 0)
        let error = out.stderr.split(separator: "\n").filter { $0.contains("nowhere") }
        #expect(error.count == 1, "\(out.stderr)")
        #expect(error.first?.contains("\(f.dest)/nowhere") == true && error.first?.contains("git clone") == true, "\(out.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.dest + "/nowhere"), "no half-made checkout")
    }
}

/// Starts jobs in stack install, waits for them in test-config.
let asyncHook = #"""
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        JOB_INPUT=set-before-the-call
        slow_job() {
            echo "${HVCTL_STATE_OUT:-none}" >"$OUT/slow-job-state-out"
            sleep 1; echo "slow job saw JOB_INPUT=$JOB_INPUT as $(id -un)" | tee "$OUT/slow-job"
        }
        async_runfunc slow_job
        JOB_INPUT=changed-after-the-call
        if [[ ${WITH_BAD_JOB:-} == yes ]]; then
            bad_job() { echo "bad job output"; return 3; }
            async_runfunc bad_job
        fi
        if [[ ${WITH_FORGOTTEN_JOB:-} == yes ]]; then
            forgotten_job() { sleep 600; }
            async_runfunc forgotten_job
        fi
    fi
    if [[ "$1" == "stack" && "$2" == "test-config" ]]; then
        [[ -e "$OUT/slow-job" ]] && echo "the job ran to its end before the wait" >"$OUT/early"
        async_wait slow_job
        echo "waited: $(cat "$OUT/slow-job")" >"$OUT/waited"
        if [[ ${WITH_BAD_JOB:-} == yes ]]; then
            async_wait bad_job
        fi
    fi
    """#

extension DevStackTests {
    @Test("an async job started in stack install runs as its own unit from the caller's state, outlives the call, and is waited for in test-config")
    func asyncJob() async throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        try f.addHook("50-async.sh", asyncHook)
        let out = try hvctl(f, ["stack"])
        #expect(out.status == 0, "\(out.stdout)\n\(out.stderr)")
        #expect(f.read("waited") == "waited: slow job saw JOB_INPUT=set-before-the-call as root\n")
        // A job saves no state: its caller's file is its caller's alone.
        #expect(f.read("slow-job-state-out") == "none\n")
        // Its output is in the journal, from its own unit, with the run's fields.
        let entry = try await eventually(timeout: .seconds(10)) { () -> String? in
            let out = try Witness.run(["journalctl", "-o", "json", "--no-pager", "HVCTL_JOB=slow_job", "-n", "20"]).stdout
            return out.split(separator: "\n").first { $0.contains("slow job saw JOB_INPUT=set-before-the-call") }.map(String.init)
        }
        let fields = try JSONSerialization.jsonObject(with: Data((entry ?? "{}").utf8)) as? [String: Any] ?? [:]
        #expect((fields["_SYSTEMD_UNIT"] as? String)?.hasSuffix("-job-slow_job.service") == true, "\(fields)")
        #expect(fields["HVCTL_RUN"] != nil)
    }

    @Test("a failed job fails its async_wait with the job's exit code and last lines; a job never waited for is stopped and reported")
    func asyncJobFailures() throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        try f.addHook("50-async.sh", asyncHook)
        let failed = try hvctl(f, ["stack", "--env", "WITH_BAD_JOB=yes"])
        #expect(failed.status != 0)
        #expect(failed.stdout.contains("FAIL  50-async.sh  stack test-config  exit 3"), "\(failed.stdout)")
        #expect(failed.stdout.contains("bad job output"), "the job's last lines: \(failed.stdout)")

        let clock = ContinuousClock()
        let start = clock.now
        let forgotten = try hvctl(f, ["stack", "--env", "WITH_FORGOTTEN_JOB=yes"])
        #expect(forgotten.status == 0, "\(forgotten.stdout)\n\(forgotten.stderr)")
        #expect(clock.now - start < .seconds(60), "the forgotten job (sleep 600) did not hold the flow")
        #expect(forgotten.stderr.contains("forgotten_job"), "reported: \(forgotten.stderr)")
        #expect(try loadedUnits(matching: "hvctl-*-job-forgotten_job.service").isEmpty, "stopped")
    }

    @Test("DEVSTACK_PARALLEL=False runs the job in its caller, as DevStack does")
    func asyncSynchronous() throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest", "DEVSTACK_PARALLEL=False"])
        defer { f.remove() }
        try f.addHook("50-async.sh", asyncHook)
        let out = try hvctl(f, ["stack"])
        #expect(out.status == 0, "\(out.stdout)\n\(out.stderr)")
        #expect(f.read("early") == "the job ran to its end before the wait\n")
        #expect(f.read("waited").contains("JOB_INPUT=set-before-the-call"))
    }
}

extension DevStackTests {
    @Test("80-tempest.sh with tempest enabled gets as far as a stack.sh-like bash gets offline: its install job's git clone fails, and nothing is missing")
    func tempestOffline() throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake"])  // stackrc enables tempest
        defer { f.remove() }
        let out = try hvctl(f, ["stack"])
        #expect(out.status != 0)
        #expect(out.stdout.contains("ok    80-tempest.sh  stack install"), "install only starts the job: \(out.stdout)")
        #expect(out.stdout.contains("FAIL  80-tempest.sh  stack test-config"), "async_wait install_tempest fails: \(out.stdout)")
        #expect(out.stdout.contains("git call failed") && out.stdout.contains("tempest"), "the clone is what fails offline: \(out.stdout)")
        // All of the hook's output, not only its last lines.
        let unit = try #require(out.stdout.firstMatch(of: /journalctl -u (hvctl-[0-9a-f]+-test-config-80-tempest\.service)/)?.1)
        let all = try Witness.run(["journalctl", "-u", String(unit), "-o", "cat", "--no-pager"]).stdout
        #expect(all.contains("[Async install_tempest]: FAILED with rc 1"), "\(all)")
        #expect(!all.contains("command not found") && !out.stdout.contains("command not found"), "\(all)")
    }

    @Test("devstack-plugin-container through enable_plugin: its settings enable container, its plugin.sh runs in each phase; install fails offline as under stack.sh, post-config rewrites Docker's config")
    func containerPlugin() throws {
        guard let plugin = DevStackFixture.snapshot("devstack-plugin-container") else { throw DevStackFixture.FixtureMissing() }
        let f = try DevStackFixture(localrc: [
            "VIRT_DRIVER=fake", "disable_service tempest",
            "enable_plugin devstack-plugin-container https://opendev.org/openstack/devstack-plugin-container",
        ])
        defer { f.remove() }
        try DevStackFixture.copy(plugin, to: f.dest + "/devstack-plugin-container")
        try f.addHook("50-services.sh", #"if is_service_enabled container; then echo "$* container" >>"$OUT/enabled"; fi"#)

        let install = try hvctl(f, ["hooks", "run", "stack", "install"])
        #expect(install.status != 0)
        #expect(install.stdout.contains("FAIL  plugin:devstack-plugin-container  stack install"), "\(install.stdout)")
        #expect(!install.stdout.contains("command not found"), "\(install.stdout)")
        #expect(f.read("enabled").contains("stack install container"), "its settings enabled container before extras.d's install")

        // post-config rewrites daemon.json and restarts Docker (here the restart fails: the
        // drop-in's dockerd competes with docker.socket); put Docker back as it was after.
        defer {
            _ = try? Witness.run(["rm", "-f", "/etc/systemd/system/docker.service.d/docker.conf", "/etc/docker/daemon.json"])
            _ = try? Witness.run(["systemctl", "daemon-reload"])
            ensureDockerRunning()
        }
        let postConfig = try hvctl(f, ["hooks", "run", "stack", "post-config"])
        #expect(postConfig.stdout.contains("plugin:devstack-plugin-container  stack post-config"), "\(postConfig.stdout)")
        let daemon = (try? String(contentsOfFile: "/etc/docker/daemon.json", encoding: .utf8)) ?? ""
        // Its docker group is STACK_USER's: root in the fixture (a root run refuses `stack`).
        #expect(daemon.contains(#""group": "root""#), "configure_docker wrote daemon.json: \(daemon)")
        #expect(FileManager.default.fileExists(atPath: "/etc/systemd/system/docker.service.d/docker.conf"))
    }
}

extension DevStackTests {
    @Test("attack: a plugin checkout or a $DEST another user owns is refused, and none of its code runs")
    func untrustedPlugin() throws {
        let attacker = try Attacker()
        defer { attacker.remove() }
        let proof = attacker.home + "/ran"
        // A checkout someone else made in $DEST: theirs to change after any check.
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest", "enable_plugin evil file:///nonexistent/evil"])
        defer { f.remove() }
        for dir in ["/evil", "/evil/devstack"] { try FileManager.default.createDirectory(atPath: f.dest + dir, withIntermediateDirectories: true) }
        for file in ["settings", "override-defaults", "plugin.sh"] {
            try "touch \(proof)\n".write(toFile: f.dest + "/evil/devstack/" + file, atomically: false, encoding: .utf8)
        }
        try Witness.run(["chown", "-R", "\(attacker.uid):\(attacker.gid)", f.dest + "/evil"])
        expectRefused(try hvctl(f, ["hooks", "run", "stack", "install"]), f.dest + "/evil")
        #expect(!FileManager.default.fileExists(atPath: proof))

        // A $DEST the attacker owns: hvctl would clone into their directory.
        let theirs = attacker.home + "/dest"
        try #require(try attacker.sh("mkdir -m 0755 \(theirs)").status == 0)
        try f.writeLocalConf(localrc: ["VIRT_DRIVER=fake", "disable_service tempest", "DEST=\(theirs)", "enable_plugin tiny file:///nonexistent/tiny"])
        expectRefused(try hvctl(f, ["hooks", "run", "stack", "install"]), theirs)
        #expect(try attacker.rootOwnedFiles().isEmpty, "nothing cloned into the attacker's directory")
    }

    @Test("attack: with --user, every call and every job runs as that user; another user cannot reach the run's job socket")
    func jobsAsUser() async throws {
        let attacker = try Attacker()
        defer { attacker.remove() }
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        try Witness.run(["chmod", "0777", f.out])
        try f.addHook("50-user.sh", #"""
            if [[ "$1" == "stack" && "$2" == "install" ]]; then
                id -un >"$OUT/hook-user"
                who_job() { id -un >"$OUT/job-user"; }
                async_runfunc who_job
                async_wait who_job
                echo "$HVCTL_JOBS_SOCKET" >"$OUT/socket"
                sleep 3
            fi
            """#)
        let user = "nobody"
        let hvctl = try HvctlHost(top: f.root).spawn(
            ["hooks", "run", "stack", "install", "--top-dir", f.top, "--env", "OUT=\(f.out)", "--user", user])
        let socket = try #require(try await eventually(timeout: .seconds(30)) { () -> String? in
            let s = f.read("socket").trimmingCharacters(in: .whitespacesAndNewlines)
            return s.isEmpty ? nil : s
        })
        let refused = try attacker.as_(["env", "HVCTL_JOBS_SOCKET=\(socket)", hvctlBinary, "job", "start", "x", socket, "--", "true"])
        #expect(refused.status != 0 && refused.stderr.contains("Permission denied"), "\(refused.stderr)")
        hvctl.waitUntilExit()
        #expect(hvctl.terminationStatus == 0)
        #expect(f.read("hook-user") == "\(user)\n")
        #expect(f.read("job-user") == "\(user)\n", "a --user hook's job runs as that user, never root")
    }
}

extension DevStackTests {
    @Test("doctor in DevStack mode checks STACK_USER, sudo and gawk, and says how to fix a missing user")
    func doctor() throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake"])
        defer { f.remove() }
        let ok = try Witness.run([hvctlBinary, "doctor", "--driver", "fake", "--top-dir", f.top, "-o", "json"], environment: f.env)
        let checks = (try JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as? [String: Any])?["checks"] as? [[String: Any]] ?? []
        let devstack = checks.first { $0["name"] as? String == "devstack" }
        #expect(devstack?["status"] as? String == "ok", "\(ok.stdout)")

        try f.writeLocalConf(localrc: ["VIRT_DRIVER=fake", "STACK_USER=hvctl-no-such-user"])
        let missing = try Witness.run([hvctlBinary, "doctor", "--driver", "fake", "--top-dir", f.top], environment: f.env)
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("STACK_USER hvctl-no-such-user does not exist"), "\(missing.stdout)")
        #expect(missing.stdout.contains("fix: useradd --system --shell /usr/sbin/nologin hvctl-no-such-user"), "\(missing.stdout)")
    }

    @Test("--dry-run in DevStack mode prints the environment step and every unit, and starts none")
    func dryRun() throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        let out = try hvctl(f, ["stack", "fake", "--dry-run"])
        #expect(out.status == 0, "\(out.stderr)")
        let units = out.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("  unit ") }
            .map { String($0.dropFirst(7).split(separator: "-", maxSplits: 2).last ?? "") }
        #expect(out.stdout.hasPrefix("devstack environment\n"), "\(out.stdout)")
        #expect(units == [
            "devstack-settings.service", "override_defaults-80-tempest.service", "devstack-libraries.service",
            "source-80-tempest.service", "devstack-ready.service", "pre-install-80-tempest.service", "install-80-tempest.service",
            "post-config-80-tempest.service", "extra-80-tempest.service", "test-config-80-tempest.service",
        ], "\(out.stdout)")
        #expect(!FileManager.default.fileExists(atPath: f.runtime + "/shell"), "no environment was built")
    }
}

extension DevStackTests {
    @Test("crash safety: SIGKILL to hvctl mid-flow; the run's reaper stops its hook and its async job, and removes its shell state")
    func killedFlow() async throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        try f.addHook("50-sleeper.sh", #"""
            if [[ "$1" == "stack" && "$2" == "install" ]]; then
                sleeper() { sleep 600; }
                async_runfunc sleeper
                sleep 600
            fi
            """#)
        let hvctl = try HvctlHost(top: f.root).spawn(["stack", "--top-dir", f.top])
        let job = try #require(try await eventually(timeout: .seconds(60)) { () -> String? in
            try loadedUnits(matching: "hvctl-*-job-sleeper.service").first
        })
        let run = String(job.dropFirst("hvctl-".count).prefix { $0 != "-" })
        #expect(FileManager.default.fileExists(atPath: f.runtime + "/shell/" + run))
        kill(hvctl.processIdentifier, SIGKILL)
        hvctl.waitUntilExit()
        let gone = try await eventually(timeout: .seconds(60)) { () -> Bool? in
            try loadedUnits(matching: "hvctl-\(run)-*").filter { !$0.contains("-reaper") }.isEmpty ? true : nil
        }
        #expect(gone == true, "units left: \((try? loadedUnits(matching: "hvctl-\(run)-*")) ?? [])")
        let removed = try await eventually(timeout: .seconds(30)) { () -> Bool? in
            FileManager.default.fileExists(atPath: f.runtime + "/shell/" + run) ? nil : true
        }
        #expect(removed == true, "the shell state (passwords included) is removed by the reaper")
    }
}

extension DevStackTests {
    @Test("switch in DevStack mode: one environment for the old driver's unstack, one for the new driver's stack, each with its own VIRT_DRIVER")
    func switching() throws {
        ensureDockerRunning()
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        try f.addHook("50-probe.sh", probeHook)
        #expect(try hvctl(f, ["stack"]).status == 0)
        try? FileManager.default.removeItem(atPath: f.out + "/calls")
        let out = try hvctl(f, ["switch", "docker"])
        #expect(out.status == 0, "\(out.stdout)\n\(out.stderr)")
        let calls = f.read("calls").split(separator: "\n").map(String.init)
        #expect(calls == [
            "override_defaults VIRT_DRIVER=fake", "source VIRT_DRIVER=fake", "unstack VIRT_DRIVER=fake",
            "override_defaults VIRT_DRIVER=docker", "source VIRT_DRIVER=docker", "stack pre-install VIRT_DRIVER=docker",
            "stack install VIRT_DRIVER=docker", "stack post-config VIRT_DRIVER=docker", "stack extra VIRT_DRIVER=docker",
            "stack test-config VIRT_DRIVER=docker",
        ], "\(out.stdout)")
        _ = try hvctl(f, ["clean", "docker"])
    }
}

extension DevStackTests {
    @Test("attack: what another user planted in $DEST or TOP_DIR is refused before anything runs; a package list that links to /etc/shadow is not read")
    func plantedFiles() throws {
        let attacker = try Attacker()
        defer { attacker.remove() }
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        // A tempest virtualenv of theirs in $DEST, which root's install_tempest would run.
        try FileManager.default.createDirectory(atPath: f.dest + "/tempest", withIntermediateDirectories: true)
        try Witness.run(["chown", "\(attacker.uid):\(attacker.gid)", f.dest + "/tempest"])
        expectRefused(try hvctl(f, ["hooks", "run", "stack", "install"]), f.dest + "/tempest")
        try FileManager.default.removeItem(atPath: f.dest + "/tempest")

        // A .stackenv of theirs in TOP_DIR, which openrc sources.
        try "touch \(attacker.home)/ran\n".write(toFile: f.top + "/.stackenv", atomically: false, encoding: .utf8)
        try Witness.run(["chown", "\(attacker.uid):\(attacker.gid)", f.top + "/.stackenv"])
        expectRefused(try hvctl(f, ["hooks", "run", "stack", "install"]), f.top + "/.stackenv")
        try FileManager.default.removeItem(atPath: f.top + "/.stackenv")

        // A root-owned plugin whose package list is a link to /etc/shadow.
        let tiny = try TinyPlugin(in: f)
        try f.writeLocalConf(localrc: ["VIRT_DRIVER=fake", "disable_service tempest", "enable_plugin tiny \(tiny.url)"])
        #expect(try hvctl(f, ["hooks", "run", "stack", "install"]).status == 0)
        symlink("/etc/shadow", f.dest + "/tiny/devstack/files/debs/shadow")
        let packages = (try listing(f)["plugins"] as? [[String: Any]])?.first?["packages"] as? [String] ?? []
        #expect(packages == ["tiny-package-one", "tiny-package-two"], "\(packages)")
        #expect(!FileManager.default.fileExists(atPath: attacker.home + "/ran"))
    }

    @Test("a run starts at most 32 async jobs at once; the next one is refused with a line saying why")
    func jobLimit() throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        try f.addHook("50-many.sh", #"""
            if [[ "$1" == "stack" && "$2" == "install" ]]; then
                for i in $(seq 1 33); do async_run "job$i" sleep 60; done
            fi
            """#)
        let out = try hvctl(f, ["hooks", "run", "stack", "install"])
        #expect(out.status != 0)
        #expect(out.stdout.contains("job33: 32 jobs are running already in this run"), "\(out.stdout)")
        #expect(try loadedUnits(matching: "hvctl-*-job-job*.service").isEmpty, "the 32 were stopped at the end of the run")
    }
}

extension DevStackTests {
    @Test("[[extra|FILE]] is merged before stack extra, [[post-extra|FILE]] after it, as stack.sh merges them")
    func extraMerges() throws {
        let f = try DevStackFixture(
            localrc: ["VIRT_DRIVER=fake", "disable_service tempest", "EXTRA_CONF=$DEST/extra.conf"],
            meta: "[[extra|$EXTRA_CONF]]\n[DEFAULT]\nfrom_extra = 1\n[[post-extra|$EXTRA_CONF]]\n[DEFAULT]\nfrom_post_extra = 1\n")
        defer { f.remove() }
        try f.addHook("50-extra.sh", #"""
            if [[ "$1" == "stack" && "$2" == "extra" ]]; then
                grep -c '^from' "$EXTRA_CONF" >"$OUT/seen-in-extra" || true
            fi
            """#)
        let out = try hvctl(f, ["hooks", "run", "stack", "extra"])
        #expect(out.status == 0, "\(out.stdout)\n\(out.stderr)")
        #expect(f.read("seen-in-extra") == "1\n", "the extra section is there when the hooks run, the post-extra one not yet")
        let conf = (try? String(contentsOfFile: f.dest + "/extra.conf", encoding: .utf8)) ?? ""
        #expect(conf.contains("from_extra = 1") && conf.contains("from_post_extra = 1"), "\(conf)")
    }

    @Test("unstack goes on after a failing environment call, as unstack.sh (no errexit) does; a copied lazy function wraps its original")
    func unstackGoesOn() throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        try f.addHook("40-broken.sh", #"if [[ "$1" == "override_defaults" ]]; then false; exit 3; fi"#)
        try f.addHook("50-wrap.sh", #"""
            if [[ "$1" == "source" ]]; then
                # DevStack's own idiom for wrapping a function (lib/neutron_plugins/*).
                eval "orig_is_ubuntu() $(declare -f is_ubuntu | tail -n +2)"
                is_ubuntu() { echo "wrapped" >>"$OUT/wrap"; orig_is_ubuntu; }
            fi
            if [[ "$1" == "unstack" ]]; then
                is_ubuntu && echo "debian: yes" >>"$OUT/wrap"
                is_ubuntu && echo "debian: yes" >>"$OUT/wrap"
            fi
            """#)
        let out = try hvctl(f, ["hooks", "run", "unstack"])
        #expect(out.status != 0, "the broken hook fails the run")
        #expect(out.stdout.contains("FAIL  40-broken.sh  override_defaults  exit 3"), "\(out.stdout)")
        #expect(out.stdout.contains("ok    50-wrap.sh  unstack"), "unstack still ran: \(out.stdout)")
        #expect(f.read("wrap") == "wrapped\ndebian: yes\nwrapped\ndebian: yes\n", "the wrapper stays: \(f.read("wrap"))")
    }
}

extension DevStackTests {
    @Test("hooks run --dry-run in DevStack mode lists the environment's units, openrc for unstack, and the merges around the call")
    func hooksRunDryRun() throws {
        let f = try DevStackFixture(
            localrc: ["VIRT_DRIVER=fake", "disable_service tempest"], meta: "[[post-config|$DEST/x.conf]]\n[DEFAULT]\na = 1\n")
        defer { f.remove() }
        func units(_ args: [String]) throws -> [String] {
            let out = try Witness.run([hvctlBinary, "hooks", "run"] + args + ["--dry-run", "--top-dir", f.top], environment: f.env)
            #expect(out.status == 0, "\(out.stderr)")
            return out.stdout.split(separator: "\n").filter { $0.hasPrefix("  ") }
                .map { String($0.split(separator: "-", maxSplits: 2).last ?? "") }
        }
        #expect(try units(["stack", "post-config"]) == [
            "devstack-settings.service", "override_defaults-80-tempest.service", "devstack-libraries.service",
            "source-80-tempest.service", "devstack-ready.service", "post-config-80-tempest.service",
            "devstack-targets-post-config.service", "devstack-merge-post-config.service",
        ])
        #expect(try units(["unstack"]) == [
            "devstack-settings.service", "devstack-openrc.service", "override_defaults-80-tempest.service",
            "devstack-libraries.service", "source-80-tempest.service", "devstack-ready.service", "unstack-80-tempest.service",
        ])
        #expect(!FileManager.default.fileExists(atPath: f.runtime + "/shell"), "nothing was built")
    }
}

extension DevStackTests {
    @Test("attack: a root merge into a directory another user owns (STACK_USER's /etc/nova) is refused; root writes nothing through their link")
    func mergeThroughPlantedLink() throws {
        let attacker = try Attacker()
        defer { attacker.remove() }
        let g = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { g.remove() }
        // DevStack gives /etc/nova to STACK_USER (lib/nova); here the attacker is that user.
        let novaDir = g.root + "/etc-nova", victim = g.root + "/victim/cron-job"
        for dir in [novaDir, g.root + "/victim"] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try Witness.run(["chown", "\(attacker.uid):\(attacker.gid)", novaDir])
        #expect(try attacker.as_(["ln", "-s", victim, novaDir + "/nova.conf"]).status == 0)
        try g.writeLocalConf(
            localrc: ["VIRT_DRIVER=fake", "disable_service tempest"],
            meta: "[[post-config|\(novaDir)/nova.conf]]\n[DEFAULT]\nowned = yes\n")
        let out = try hvctl(g, ["hooks", "run", "stack", "post-config"])
        expectRefused(out, novaDir + " is owned by uid \(attacker.uid)")
        #expect(!FileManager.default.fileExists(atPath: victim), "root wrote through the attacker's link")
        #expect(!out.stdout.contains("devstack:merge-post-config"), "the merge did not run: \(out.stdout)")

        // The same merge once root owns the directory again.
        try FileManager.default.removeItem(atPath: novaDir + "/nova.conf")
        try Witness.run(["chown", "root:root", novaDir])
        let merged = try hvctl(g, ["hooks", "run", "stack", "post-config"])
        #expect(merged.status == 0, "a root-owned directory is fine: \(merged.stdout)\n\(merged.stderr)")
        #expect(((try? String(contentsOfFile: novaDir + "/nova.conf", encoding: .utf8)) ?? "").contains("owned = yes"))
    }

    @Test("attack: $DEST is checked at every depth: a directory another user owns deep inside (tempest's .tox) is refused")
    func deepDestPlant() throws {
        let attacker = try Attacker()
        defer { attacker.remove() }
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest"])
        defer { f.remove() }
        let tox = f.dest + "/tempest/.tox/tempest/bin"
        try FileManager.default.createDirectory(atPath: tox, withIntermediateDirectories: true)
        try Witness.run(["chown", "\(attacker.uid):\(attacker.gid)", tox])
        #expect(try attacker.sh("printf '#!/bin/sh\\ntouch \(attacker.home)/ran\\n' >\(tox)/pip; chmod 755 \(tox)/pip").status == 0)
        expectRefused(try hvctl(f, ["hooks", "run", "stack", "install"]), tox)
        #expect(!FileManager.default.fileExists(atPath: attacker.home + "/ran"))
    }
}

extension DevStackTests {
    @Test("a root run refuses an untrusted STACK_USER (stackrc's `stack`), whose directories DevStack's code writes into as root; nothing runs")
    func untrustedStackUser() throws {
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=fake", "disable_service tempest", "STACK_USER=stack"])
        defer { f.remove() }
        try f.addHook("50-probe.sh", probeHook)
        let out = try hvctl(f, ["hooks", "run", "stack", "install"])
        expectRefused(out, "refusing to run DevStack as root for STACK_USER stack")
        #expect(out.stderr.contains("--user stack") && out.stderr.contains("trusted_users"), "the line says how to fix it: \(out.stderr)")
        #expect(f.read("calls").isEmpty, "no hook ran: \(f.read("calls"))")
    }

    @Test("a meta section whose file is not one plain path (several words, a glob, '..') is refused before root merges anything")
    func mergeSpecNotPlain() throws {
        // A header's spec is one word (DevStack's awk takes $1); several come from a variable or a glob.
        for spec in ["$TWO_FILES", "$DEST/*.conf", "$DEST/x/../y.conf"] {
            let f = try DevStackFixture(
                localrc: ["VIRT_DRIVER=fake", "disable_service tempest", #"TWO_FILES="$DEST/a.conf $DEST/b.conf""#],
                meta: "[[post-config|\(spec)]]\n[DEFAULT]\na = 1\n")
            defer { f.remove() }
            for file in ["a.conf", "b.conf"] { try "".write(toFile: f.dest + "/" + file, atomically: false, encoding: .utf8) }
            let out = try hvctl(f, ["hooks", "run", "stack", "post-config"])
            #expect(out.status != 0 && out.stderr.contains("give each section one plain path"), "\(spec): \(out.stderr)")
            #expect(!out.stdout.contains("devstack:merge-post-config"), "\(spec): the merge ran: \(out.stdout)")
            #expect(try String(contentsOfFile: f.dest + "/a.conf", encoding: .utf8).isEmpty, "\(spec): a.conf was written")
        }
    }
}

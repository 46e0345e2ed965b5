import Foundation
import TestSupport
import Testing

/// A user's hypervisor script: each verb appends its name and its unit to $VERBS_LOG.
let userScript = #"""
    function _log_verb { echo "$1 $(cat /proc/self/cgroup | grep -o 'hvctl-[^/]*\.service' | head -1)" >>"$VERBS_LOG"; }
    function install_nova_hypervisor { _log_verb install; }
    function configure_nova_hypervisor { _log_verb configure; iniset $NOVA_CONF DEFAULT compute_driver mine.MineDriver; }
    function start_nova_hypervisor { _log_verb start; }
    function stop_nova_hypervisor { _log_verb stop; }
    function cleanup_nova_hypervisor { _log_verb cleanup; }
    """#

@Suite("script drivers: DevStack's hypervisor scripts and a user's own as drivers (test host)", .serialized)
struct ScriptDriverTests {
    @Test("a user's /etc/hvctl/hypervisors.d/hypervisor-NAME starts and stops through hvctl, each verb a unit; status is what hvctl recorded; instances are refused in one line")
    func userScriptDriver() throws {
        let h = HvctlHost("hvctl-script")
        defer { h.remove() }
        let dir = h.dir + "/hypervisors.d", log = h.dir + "/verbs.log"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(h.dir, 0o755)
        try userScript.write(toFile: dir + "/hypervisor-mine", atomically: false, encoding: .utf8)
        let env = h.env.merging(["HVCTL_HYPERVISORS_DIR": dir]) { $1 }
        func hvctl(_ args: String...) throws -> Witness.Output {
            try Witness.run([hvctlBinary] + args + ["--env", "VERBS_LOG=\(log)"], environment: env)
        }
        let start = try hvctl("start", "mine")
        #expect(start.status == 0, "\(start.stdout)\n\(start.stderr)")
        let again = try hvctl("start", "mine")
        #expect(again.status == 0 && again.stdout.contains("already running"), "\(again.stdout)\n\(again.stderr)")
        let status = try Witness.run([hvctlBinary, "status", "mine", "-o", "json"], environment: env)
        #expect(status.stdout.contains("\"running\" : true"), "\(status.stdout) \(status.stderr)")
        let stop = try hvctl("stop", "mine")
        #expect(stop.status == 0, "\(stop.stdout)\n\(stop.stderr)")
        let verbs = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        #expect(verbs.map { String($0.split(separator: " ").first ?? "") } == ["install", "configure", "start", "stop"], "\(verbs)")
        for (line, verb) in zip(verbs, ["install", "configure", "start", "stop"]) {
            #expect(line.hasSuffix("-\(verb)-hypervisor-mine.service"), "each verb runs as its own unit: \(line)")
        }
        let conf = (try? String(contentsOfFile: h.dir + "/compute.conf", encoding: .utf8)) ?? ""
        #expect(conf.contains("compute_driver = mine.MineDriver"), "NOVA_CONF is hvctl's compute config: \(conf)")
        let stopped = try Witness.run([hvctlBinary, "status", "mine", "-o", "json"], environment: env)
        #expect(stopped.stdout.contains("\"running\" : false"), "\(stopped.stdout)")
        let list = try Witness.run([hvctlBinary, "instance", "list", "--driver", "mine"], environment: env)
        #expect(list.status != 0 && list.stderr.contains("not supported by a script driver"), "\(list.stderr)")
        #expect(list.stderr.trimmingCharacters(in: .newlines).split(separator: "\n").count == 1)
        let drivers = try Witness.run([hvctlBinary, "drivers"], environment: env)
        #expect(drivers.stdout.contains("mine") && drivers.stdout.contains(dir + "/hypervisor-mine"), "\(drivers.stdout)")
    }

    @Test("attack: a hypervisor script another user owns (or could swap) is no driver: nothing of it runs")
    func untrustedScript() throws {
        let attacker = try Attacker()
        defer { attacker.remove() }
        let h = HvctlHost("hvctl-script")
        defer { h.remove() }
        let dir = h.dir + "/hypervisors.d"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(h.dir, 0o755)
        try "function install_nova_hypervisor { touch \(attacker.home)/ran; }\n".write(toFile: dir + "/hypervisor-evil", atomically: false, encoding: .utf8)
        try Witness.run(["chown", "\(attacker.uid):\(attacker.gid)", dir + "/hypervisor-evil"])
        let env = h.env.merging(["HVCTL_HYPERVISORS_DIR": dir]) { $1 }
        let out = try Witness.run([hvctlBinary, "start", "evil"], environment: env)
        #expect(out.status != 0 && out.stderr.contains("unknown driver"), "\(out.stderr)")
        #expect(!FileManager.default.fileExists(atPath: attacker.home + "/ran"))
    }
}

extension DevStackTests {
    @Test("DevStack's own hypervisor scripts as drivers: openvz, vsphere and script:fake write their compute_driver into NOVA_CONF through stack, then unstack and clean")
    func devstackScriptDrivers() throws {
        defer { try? FileManager.default.removeItem(atPath: "/etc/nova") }
        for (driver, computeDriver) in [("openvz", "openvz.OpenVzDriver"), ("vsphere", "vmwareapi.VMwareVCDriver"), ("script:fake", "fake.FakeDriverWithoutFakeNodes")] {
            try? FileManager.default.removeItem(atPath: "/etc/nova")
            let f = try DevStackFixture(localrc: ["VIRT_DRIVER=\(driver.replacingOccurrences(of: "script:", with: ""))", "disable_service tempest"])
            defer { f.remove() }
            // openvz from local.conf's VIRT_DRIVER, as DevStack picks it; the others named.
            let stack = try hvctl(f, driver == "openvz" ? ["stack"] : ["stack", driver])
            #expect(stack.status == 0, "\(driver): \(stack.stdout)\n\(stack.stderr)")
            #expect(stack.stdout.contains("hypervisor-\(driver.replacingOccurrences(of: "script:", with: ""))"), "\(driver): the verbs ran as units: \(stack.stdout)")
            let conf = (try? String(contentsOfFile: "/etc/nova/nova.conf", encoding: .utf8)) ?? ""
            #expect(conf.contains("compute_driver = \(computeDriver)"), "\(driver): \(conf)")
            #expect(try hvctl(f, ["unstack", driver]).status == 0)
            #expect(try hvctl(f, ["clean", driver]).status == 0)
        }
    }
}

extension DevStackTests {
    @Test("attack: a hypervisor script's configure does not write NOVA_CONF as root through a link STACK_USER planted in /etc/nova")
    func novaConfThroughPlantedLink() throws {
        let attacker = try Attacker()
        defer { attacker.remove() }
        defer { try? FileManager.default.removeItem(atPath: "/etc/nova") }
        try? FileManager.default.removeItem(atPath: "/etc/nova")
        let f = try DevStackFixture(localrc: ["VIRT_DRIVER=openvz", "disable_service tempest"])
        defer { f.remove() }
        // DevStack gives /etc/nova to STACK_USER; here the attacker is that user.
        let victim = f.root + "/victim-cron"
        try FileManager.default.createDirectory(atPath: "/etc/nova", withIntermediateDirectories: true)
        try Witness.run(["chown", "\(attacker.uid):\(attacker.gid)", "/etc/nova"])
        #expect(try attacker.as_(["ln", "-s", victim, "/etc/nova/nova.conf"]).status == 0)
        let out = try hvctl(f, ["stack"])
        #expect(out.status != 0, "\(out.stdout)")
        #expect((out.stdout + out.stderr).contains("/etc/nova is owned by uid \(attacker.uid)"), "\(out.stdout)\n\(out.stderr)")
        #expect(!FileManager.default.fileExists(atPath: victim), "root wrote through the attacker's link")
    }
}

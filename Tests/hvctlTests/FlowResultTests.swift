import Foundation
import TestSupport
import Testing

/// `-o json` of the flows: what scripts and the Ansible modules read.
@Suite("flow results: steps in DevStack's order, what changed, rollback on a verb's failure (test host)", .serialized)
struct FlowResultTests {
    func json(_ out: Witness.Output) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any], "stdout is one JSON object: \(out.stdout)\n\(out.stderr)")
    }

    func steps(_ result: [String: Any]) -> [(name: String, outcome: String, changed: Bool?)] {
        (result["steps"] as? [[String: Any]] ?? []).map { ($0["name"] as? String ?? "?", $0["outcome"] as? String ?? "?", $0["changed"] as? Bool) }
    }

    @Test("stack, unstack and clean -o json list each step in DevStack's order with its outcome and hooks; a second start changed nothing")
    func stepOrder() throws {
        let h = HvctlHost("hvctl-flowjson")
        defer { h.remove() }
        let extras = h.dir + "/extras.d"
        try FileManager.default.createDirectory(atPath: extras, withIntermediateDirectories: true)
        try "true\n".write(toFile: extras + "/10-ok.sh", atomically: false, encoding: .utf8)
        let env = h.env.merging(["HVCTL_EXTRAS_DIR": extras]) { $1 }
        let stack = try Witness.run([hvctlBinary, "stack", "fake", "-o", "json"], environment: env)
        #expect(stack.status == 0, "\(stack.stderr)")
        #expect(stack.stderr.contains("-> hooks stack pre-install"), "progress goes to stderr: \(stack.stderr)")
        let stacked = try json(stack)
        #expect(stacked["flow"] as? String == "stack" && stacked["driver"] as? String == "fake")
        #expect(stacked["succeeded"] as? Bool == true && stacked["changed"] as? Bool == true && stacked["error"] is NSNull)
        #expect(steps(stacked).map(\.name) == [
            "hooks stack pre-install", "install", "hooks stack install", "configure", "hooks stack post-config", "start",
            "hooks stack extra", "hooks stack test-config",
        ])
        #expect(steps(stacked).allSatisfy { $0.outcome == "done" })
        #expect(steps(stacked).first { $0.name == "start" }?.changed == true, "the fake daemon was started")
        let hooks = (stacked["steps"] as? [[String: Any]])?.first?["hooks"] as? [[String: Any]] ?? []
        #expect(hooks.map { $0["hook"] as? String } == ["10-ok.sh"])

        let again = try json(try Witness.run([hvctlBinary, "start", "fake", "-o", "json"], environment: env))
        #expect(again["changed"] as? Bool == false, "a driver already up is not changed: \(again)")

        let clean = try Witness.run([hvctlBinary, "clean", "fake", "-o", "json"], environment: env)
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(steps(try json(clean)).map(\.name) == ["hooks unstack", "stop", "hooks clean", "cleanup"])

        let plan = try json(try Witness.run([hvctlBinary, "stack", "fake", "--dry-run", "-o", "json"], environment: env))
        #expect(plan["dryRun"] as? Bool == true && (plan["plan"] as? [String])?.first == "hooks stack pre-install", "\(plan)")
    }

    @Test("a switch whose new driver fails in a verb (its start) rolls back; -o json names the step, the flows and the driver back")
    func rollbackOnVerb() throws {
        let h = HvctlHost("hvctl-flowjson")
        defer { h.remove() }
        let dir = h.dir + "/hypervisors.d"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(h.dir, 0o755)
        try """
            function install_nova_hypervisor { :; }
            function configure_nova_hypervisor { :; }
            function start_nova_hypervisor { echo "cannot start broken"; return 3; }
            function stop_nova_hypervisor { :; }
            function cleanup_nova_hypervisor { :; }
            """.write(toFile: dir + "/hypervisor-broken", atomically: false, encoding: .utf8)
        let env = h.env.merging(["HVCTL_HYPERVISORS_DIR": dir]) { $1 }
        #expect(try Witness.run([hvctlBinary, "stack", "fake"], environment: env).status == 0)
        let out = try Witness.run([hvctlBinary, "switch", "broken", "-o", "json"], environment: env)
        #expect(out.status != 0 && out.status < 128)
        #expect(out.stderr.contains("switch to broken failed at 'start'") && out.stderr.contains("rolled back: fake is running and active again"), "\(out.stderr)")
        let result = try json(out)
        #expect(result["flow"] as? String == "switch" && result["from"] as? String == "fake" && result["to"] as? String == "broken")
        #expect(result["succeeded"] as? Bool == false && result["rolledBackTo"] as? String == "fake")
        let flows = result["flows"] as? [[String: Any]] ?? []
        #expect(flows.map { "\($0["flow"] ?? "") \($0["driver"] ?? "")" } == ["unstack fake", "stack broken", "stack fake"])
        #expect(steps(flows[1]).last.map { "\($0.name) \($0.outcome)" } == "start failed", "stack stops at the failed verb")
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: h.state + "/state.json"))) as? [String: Any]
        #expect(state?["activeDriver"] as? String == "fake", "the old driver is active again")
    }
}

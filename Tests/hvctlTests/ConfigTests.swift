import Foundation
import TestSupport
import Testing

@Suite("the configuration file (test host)", .serialized)
struct ConfigTests {
    @Test("the configuration file gives defaults below options and environment; bad files are one-line errors")
    func configuration() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-rec.sh", #"echo "$* VIRT_DRIVER=$VIRT_DRIVER FOO=$FOO TOP=$TOP_DIR" >>"$OUT/calls""#)
        try f.add("30-slow.sh", #"[[ "$1 $2" == "stack extra" ]] && sleep 30; true"#)
        let conf = f.top + "/hvctl.conf"
        let text = [
            "# hvctl configuration for the test",
            "[DEFAULT]",
            "virt_driver = fake",
            "extras_dir = \(f.extras)",
            "top_dir = /usr/share",
            "",
            "[hook_env]",
            "FOO = from config",
            "OUT = \(f.out)",
            "",
            "[hook_timeout]",
            "30-slow = 1",
        ].joined(separator: "\n")
        try text.write(toFile: conf, atomically: true, encoding: .utf8)
        let h = HvctlHost(top: f.top)
        let out = try h.hvctl("--config", conf, "stack")
        #expect(out.status != 0)
        #expect(out.stderr.contains("stack of fake failed at 'hooks stack extra'"), "\(out.stderr)")
        #expect(out.stdout.contains("FAIL  30-slow.sh  stack extra  timed out"), "\(out.stdout)")
        let calls = f.read("calls") ?? ""
        #expect(calls.contains("stack install VIRT_DRIVER=fake FOO=from config TOP=/usr/share"), "\(calls)")

        // $VIRT_DRIVER wins over the file; HVCTL_CONFIG works as --config does.
        let status = try h.hvctl(["status", "-o", "json"], environment: ["HVCTL_CONFIG": conf])
        #expect(status.stdout.contains("\"selectedFrom\" : \"the configuration\""), "\(status.stdout)\(status.stderr)")
        let overridden = try h.hvctl(["status", "-o", "json", "--config=\(conf)"], environment: ["VIRT_DRIVER": "docker"])
        #expect(overridden.stdout.contains("\"selected\" : \"docker\""), "\(overridden.stdout)\(overridden.stderr)")

        try "[DEFAULT]\nvirt_driver = xen\n".write(toFile: conf, atomically: true, encoding: .utf8)
        let bad = try h.hvctl("--config", conf, "status")
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("\(conf):2: unknown driver 'xen'"), "\(bad.stderr)")
        let missing = try h.hvctl("status", "--config", f.top + "/nope.conf")
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("nope.conf does not exist"))
    }
}

import Systemd
import Testing

@Suite("Unit names")
struct UnitNameTests {
    @Test("valid and invalid names, as systemd's unit_name_is_valid decides",
          arguments: [
            ("hvctl-abc-stack-20-foo.service", true), ("hvctl.slice", true), ("a@b.service", true),
            ("", false), ("noext", false), (".service", false), ("x.nosuchtype", false),
            ("@x.service", false), ("x y.service", false), ("x;rm.service", false),
            (String(repeating: "a", count: 250) + ".service", false),
          ])
    func validity(name: String, valid: Bool) {
        #expect(UnitName.isValid(name) == valid, "\(name)")
    }

    @Test("escaping follows systemd-escape")
    func escaping() {
        #expect(UnitName.escape("a/b-c") == "a-b\\x2dc")
        #expect(UnitName.escape(".hidden") == "\\x2ehidden")
        #expect(UnitName.escape("vm 1;x") == "vm\\x201\\x3bx")
        #expect(UnitName.isValid(UnitName.escape("any thing/$weird") + ".service"))
    }

    @Test("unescaping undoes escaping, for any string",
          arguments: [
            "", "plain", "a/b-c", ".hidden", "-lead", "back\\slash", "vm 1;x", "/abs/path/", "ünïcödé ✓", "tab\tnl\n",
            "\\x41 looks escaped", "a.b.c:d_e", String(repeating: "/-", count: 40),
          ])
    func roundTrip(component: String) {
        let escaped = UnitName.escape(component)
        #expect(UnitName.isValid(escaped + ".service") || escaped.isEmpty, "\(escaped)")
        #expect(UnitName.unescape(escaped) == component, "\(component) -> \(escaped)")
    }

    @Test("unescaping reads what systemd-escape writes, and refuses a broken escape")
    func unescaping() {
        #expect(UnitName.unescape("a-b\\x2dc") == "a/b-c")
        #expect(UnitName.unescape("\\x2ehidden") == ".hidden")
        #expect(UnitName.unescape("vm\\x201") == "vm 1")
        #expect(UnitName.unescape("bad\\x4") == nil)
        #expect(UnitName.unescape("bad\\y41") == nil)
        #expect(UnitName.unescape("bad\\xzz") == nil)
        #expect(UnitName.unescape("bad\\x+f") == nil)
    }
}

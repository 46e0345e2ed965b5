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
}

/// The journal fields hvctl's hook runs carry, shared by the writer (HookRunner) and the
/// readers (`hvctl logs`).
public enum RunMarker {
    public static let runField = "HVCTL_RUN"
    public static let modeField = "HVCTL_MODE"
    public static let phaseField = "HVCTL_PHASE"
    public static let hookField = "HVCTL_HOOK"
    public static let driverField = "HVCTL_DRIVER"
    /// Set only on hvctl's own marker entries: "run-start" or "run-end".
    public static let eventField = "HVCTL_EVENT"
    public static let start = "run-start"
    public static let end = "run-end"

    /// hvctl-<run>-<phase>-<NN>-<name>.service → (run, phase, "NN-name.sh").
    public static func parse(unit: String) -> (run: String, phase: String, hook: String)? {
        guard unit.hasPrefix("hvctl-"), unit.hasSuffix(".service") else { return nil }
        let body = unit.dropFirst(6).dropLast(8)
        guard let runEnd = body.firstIndex(of: "-") else { return nil }
        let run = String(body[..<runEnd])
        let rest = body[body.index(after: runEnd)...]
        // The phase may hold a dash itself (pre-install): find "-NN-" after it.
        for phase in ["pre-install", "install", "post-config", "extra", "test-config", "unstack", "clean"] {
            let prefix = phase + "-"
            guard rest.hasPrefix(prefix) else { continue }
            let hook = rest.dropFirst(prefix.count)
            guard hook.count > 3, hook.prefix(2).allSatisfy(\.isNumber), hook.dropFirst(2).first == "-" else { continue }
            return (run, phase, hook + ".sh")
        }
        return nil
    }
}

/// The native drivers hvctl knows, by name: registering one is a line here.
public enum Drivers {
    public static let all: [String: any Hypervisor] = [
        "docker": DockerDriver(),
        "fake": FakeDriver(),
        "libvirt": LibvirtDriver(),
        "podman": PodmanDriver(),
    ]

    public static var names: [String] { all.keys.sorted() }

    public static func named(_ name: String) throws -> any Hypervisor {
        guard let driver = all[name] else { throw HypervisorError.unknownDriver(name, known: names) }
        return driver
    }

    /// `name` among the native drivers, then among `scripts`; `script:NAME` is the script
    /// even when a native driver has its name.
    public static func named(_ name: String, scripts: [String: ScriptDriver]) throws -> any Hypervisor {
        if name.hasPrefix(scriptPrefix) {
            let bare = String(name.dropFirst(scriptPrefix.count))
            guard let script = scripts[bare] else {
                throw HypervisorError.unknownDriver(name, known: names + scripts.keys.sorted().map { scriptPrefix + $0 })
            }
            return script
        }
        if let driver = all[name] { return driver }
        guard let script = scripts[name] else { throw HypervisorError.unknownDriver(name, known: names + scripts.keys.sorted()) }
        return script
    }

    /// Selects a script driver whose name a native driver has too.
    public static let scriptPrefix = "script:"

    /// Every driver's endpoint under `settings`, by driver name.
    public static func endpoints(_ settings: DriverSettings) -> [String: String] {
        all.compactMapValues { $0.endpoint(settings) }
    }
}

import Core
import Foundation
import Hooks
import Hypervisors
import Stack
import TestSupport
import Testing

/// An hvctl.conf in a directory of its own under /tmp.
struct ConfigFile {
    let dir = "/tmp/" + uniqueName("hvctl-conf")
    var path: String { dir + "/hvctl.conf" }

    init(_ lines: String...) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o755)
        try write(lines)
    }

    func write(_ lines: [String]) throws {
        try lines.joined(separator: "\n").write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o644)
    }

    func parsed() throws -> HostConfig { try HostConfig.parse(path: path, environment: [:]) }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}

/// The order the README promises: options, then environment variables, then hvctl.conf, then
/// hvctl's defaults. What the command line gave is what each command hands to Stack, so these
/// run in-process, without systemd or any daemon.
@Suite("configuration precedence: options, environment, hvctl.conf, defaults (no daemons)")
struct ConfigPrecedenceTests {
    @Test("the driver: --driver, then $VIRT_DRIVER, then the active driver, then virt_driver in hvctl.conf, then libvirt")
    func driver() throws {
        let file = try ConfigFile("[DEFAULT]", "virt_driver = fake")
        defer { file.remove() }
        let config = try file.parsed()
        var active = HostState()
        active.activeDriver = "podman"
        func choose(_ flag: String?, _ env: [String: String], _ state: HostState?) throws -> String {
            let s = try DriverSelection.resolve(flag: flag, environment: env, state: state, configured: config.virtDriver)
            return "\(s.name) from \(s.source)"
        }
        #expect(try choose("docker", ["VIRT_DRIVER": "libvirt"], active) == "docker from --driver")
        #expect(try choose(nil, ["VIRT_DRIVER": "libvirt"], active) == "libvirt from VIRT_DRIVER")
        #expect(try choose(nil, [:], active) == "podman from the active driver")
        #expect(try choose(nil, ["VIRT_DRIVER": ""], nil) == "fake from the configuration")
        #expect(try DriverSelection.resolve(flag: nil, environment: [:]).name == "libvirt")
    }

    @Test("compute_config: --compute-config, then $HVCTL_COMPUTE_CONFIG, then hvctl.conf, then /etc/hvctl/compute.conf")
    func computeConfig() throws {
        let file = try ConfigFile("[DEFAULT]", "compute_config = /from/file.conf")
        defer { file.remove() }
        let config = try file.parsed()
        var option = DriverSettings()
        option.computeConfig = "/from/option.conf"
        let env = ["HVCTL_COMPUTE_CONFIG": "/from/env.conf"]
        func resolved(_ settings: DriverSettings, _ config: HostConfig, _ env: [String: String]) -> String {
            DriverSession.settings(settings, config: config, environment: env).computeConfig
        }
        #expect(resolved(option, config, env) == "/from/option.conf")
        #expect(resolved(DriverSettings(), config, env) == "/from/env.conf")
        #expect(resolved(DriverSettings(), config, [:]) == "/from/file.conf")
        #expect(resolved(DriverSettings(), HostConfig(), [:]) == "/etc/hvctl/compute.conf")
    }

    @Test("a driver's option wins over its section in hvctl.conf, which fills what the options left unset")
    func driverSections() throws {
        let file = try ConfigFile("[docker]", "socket = /from/file.sock", "network = none")
        defer { file.remove() }
        var option = DriverSettings()
        option["docker", "socket"] = "/from/option.sock"
        let settings = DriverSession.settings(option, config: try file.parsed(), environment: [:])
        #expect(settings["docker", "socket"] == "/from/option.sock")
        #expect(settings["docker", "network"] == "none")
    }

    @Test("extras.d: --extras-dir, then $HVCTL_EXTRAS_DIR, then hvctl.conf, then /etc/hvctl/extras.d; TOP_DIR: --top-dir, then hvctl.conf, then extras.d's parent")
    func hookDirectories() throws {
        let file = try ConfigFile("[DEFAULT]", "extras_dir = /from/file/extras.d", "top_dir = /from/file/top")
        defer { file.remove() }
        let config = try file.parsed()
        func phase(extras: String? = nil, top: String? = nil, env: [String: String] = [:], config: HostConfig) throws -> HookPhase {
            try HookPhase(
                extrasDir: extras, topDir: top, call: .unstack, driver: DriverSelection.preferred(flag: "fake", environment: [:]), env: [],
                timeout: nil, user: nil, processEnvironment: config.environment(over: env), config: config)
        }
        let env = ["HVCTL_EXTRAS_DIR": "/from/env/extras.d"]
        #expect(try phase(extras: "/from/option/extras.d", env: env, config: config).extras.path == "/from/option/extras.d")
        #expect(try phase(env: env, config: config).extras.path == "/from/env/extras.d")
        #expect(try phase(config: config).extras.path == "/from/file/extras.d")
        #expect(try phase(config: HostConfig()).extras.path == "/etc/hvctl/extras.d")

        #expect(try phase(top: "/from/option/top", config: config).topDir == "/from/option/top")
        #expect(try phase(config: config).topDir == "/from/file/top")
        #expect(try phase(extras: "/from/option/extras.d", config: HostConfig()).topDir == "/from/option")
    }

    @Test("hook_timeout: --hook-timeout, then $HVCTL_HOOK_TIMEOUT, then hvctl.conf, then 1800 s")
    func hookTimeout() throws {
        let file = try ConfigFile("[DEFAULT]", "hook_timeout = 30")
        defer { file.remove() }
        let config = try file.parsed()
        func timeout(_ flag: Int?, _ env: [String: String], _ config: HostConfig) throws -> Duration {
            try HookPhase.timeout(flag: flag, environment: config.environment(over: env)) ?? HookPhase.defaultTimeout
        }
        #expect(try timeout(10, ["HVCTL_HOOK_TIMEOUT": "20"], config) == .seconds(10))
        #expect(try timeout(nil, ["HVCTL_HOOK_TIMEOUT": "20"], config) == .seconds(20))
        #expect(try timeout(nil, [:], config) == .seconds(30))
        #expect(try timeout(nil, [:], HostConfig()) == .seconds(1800))
    }

    @Test("[hook_env] is below --env and the caller's ENABLED_SERVICES")
    func hookEnvironment() throws {
        let file = try ConfigFile("[hook_env]", "FOO = file", "BAR = file", "ENABLED_SERVICES = file")
        defer { file.remove() }
        let config = try file.parsed()
        let phase = try HookPhase(
            extrasDir: nil, topDir: nil, call: .unstack, driver: DriverSelection.preferred(flag: "fake", environment: [:]), env: ["FOO=option"],
            timeout: nil, user: nil, processEnvironment: config.environment(over: ["ENABLED_SERVICES": "env"]), config: config)
        #expect(phase.environment == ["FOO": "option", "BAR": "file", "ENABLED_SERVICES": "env"])
    }

    @Test("--config wins over $HVCTL_CONFIG, anywhere on the command line; $HVCTL_CONFIG is the file read without it")
    func whichFile() throws {
        // Both files are bad, each on a line of its own: the error names the one hvctl read.
        let option = try ConfigFile("[DEFAULT]", "virt_driver = fake", "nonsense")
        let env = try ConfigFile("[DEFAULT]", "nonsense")
        let h = HvctlHost("hvctl-conf-which")
        defer { option.remove(); env.remove(); h.remove() }
        let fromOption = try h.hvctl(["hooks", "list", "--config", option.path], environment: ["HVCTL_CONFIG": env.path])
        #expect(fromOption.status != 0)
        #expect(fromOption.stderr.split(separator: "\n").count == 1, "\(fromOption.stderr)")
        #expect(fromOption.stderr.contains("\(option.path):3: expected key = value"), "\(fromOption.stderr)")
        let fromEnv = try h.hvctl(["hooks", "list"], environment: ["HVCTL_CONFIG": env.path])
        #expect(fromEnv.stderr.contains("\(env.path):2: expected key = value"), "\(fromEnv.stderr)")
    }

    /// Each bad file, and the line and reason its one-line error must name.
    static let badFiles: [(lines: [String], line: Int, reason: String)] = [
        (["[DEFAULT]", "virt_driver"], 2, "expected key = value"),
        (["# comment", "[DEFAULT"], 2, "a section header is [name]"),
        (["[DEFAULT]", "", "colour = blue"], 3, "unknown setting 'colour' in [DEFAULT]"),
        (["[DEFAULT]", "hook_timeout = soon"], 2, "hook_timeout takes a number of seconds from 1 to"),
        (["[hook_timeout]", "10-foo = 0"], 2, "10-foo takes a number of seconds from 1 to"),
        (["[DEFAULT]", "extras_dir = /x", "virt_driver = xen"], 3, "unknown driver 'xen'"),
        (["[hook_env]", "LD_PRELOAD = /tmp/mine.so"], 2, "LD_PRELOAD changes how every hook's shell starts"),
    ]

    @Test("a bad line is a one-line error naming file:line", arguments: badFiles.indices)
    func badLine(_ index: Int) throws {
        let bad = Self.badFiles[index]
        let file = try ConfigFile()
        defer { file.remove() }
        try file.write(bad.lines)
        let error = try #require(throws: ConfigError.self) { try file.parsed() }
        let text = "\(error)"
        #expect(text.hasPrefix("\(file.path):\(bad.line): \(bad.reason)"), "\(text)")
        #expect(!text.contains("\n"), "\(text)")
    }
}

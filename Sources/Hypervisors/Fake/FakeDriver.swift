import Core
import FoundationEssentials
import Glibc
import SystemPackage

/// DevStack's `fake` driver: every verb succeeds without a hypervisor, and each call is
/// recorded (one JSON line in <state dir>/fake-calls.log) so tests and CI pipelines can run
/// hooks and flows, and check what was asked, on hosts without one.
public struct FakeDriver: Hypervisor {
    public let name = "fake"
    public let computeDriver = "fake.FakeDriver"

    public init() {}

    public func doctor(_ context: DoctorContext) async -> DriverCheck {
        DriverCheck(.ok, "DevStack's fake driver needs no hypervisor")
    }

    struct Call: Codable {
        var verb: String
        var run: String
        var argument: String?
    }

    func record(_ verb: String, _ context: DriverContext, _ argument: String? = nil) throws {
        let line = try JSONEncoder().encode(Call(verb: verb, run: context.run.value, argument: argument)) + Data("\n".utf8)
        let path = context.state.directory + "/fake-calls.log"
        try AtomicFile.makeDirectory(context.state.directory)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw StateError.unwritable(path: path, reason: Errno.current.description) }
        defer { close(fd) }
        if let failed = FileDescriptorWriting.writeAll(fd, Array(line)) {
            throw StateError.unwritable(path: path, reason: Errno(rawValue: failed).description)
        }
    }

    /// Fake instances live in the state directory.
    private func instancesFile(_ context: DriverContext) -> String { context.state.directory + "/fake-instances.json" }

    private func load(_ context: DriverContext) throws -> [Instance] {
        guard let data = FileManager.default.contents(atPath: instancesFile(context)) else { return [] }
        guard let list = try? JSONDecoder().decode([Instance].self, from: data) else {
            throw StateError.corrupt(path: instancesFile(context))
        }
        return list
    }

    private func save(_ list: [Instance], _ context: DriverContext) throws {
        try AtomicFile.write(try JSONEncoder().encode(list), to: instancesFile(context), mode: 0o644)
    }

    public func install(_ context: DriverContext) async throws { try record("install", context) }

    public func configure(_ context: DriverContext) async throws {
        try record("configure", context)
        var ini = try IniFile.load(context.settings.computeConfig)
        ini.set("DEFAULT", "compute_driver", computeDriver)
        try ini.write(to: context.settings.computeConfig)
        try context.state.update { $0[driver: name].configured = true }
    }

    public func start(_ context: DriverContext) async throws -> StartResult {
        try record("start", context)
        let state = try context.state.load()
        if state[driver: name].startedByHvctl { return .alreadyRunning }
        try context.state.update { $0[driver: name].startedByHvctl = true; $0[driver: name].lastStart = Date() }
        return .started(seconds: 0)
    }

    public func stop(_ context: DriverContext, force: Bool) async throws -> StopResult {
        try record("stop", context)
        let running = try load(context).filter { $0.state == "running" }
        try save(try load(context).map { var i = $0; i.state = "stopped"; return i }, context)
        try context.state.update { $0[driver: name].startedByHvctl = false }
        return StopResult(stoppedInstances: running.count, stoppedDaemon: true, note: nil)
    }

    public func cleanup(_ context: DriverContext, dryRun: Bool, scope: CleanupScope) async throws -> CleanupReport {
        if !dryRun { try record("cleanup", context) }
        let all = try load(context)
        let (gone, stay) = (all.filter { scope.includes(run: $0.run) }, all.filter { !scope.includes(run: $0.run) })
        if !dryRun && !gone.isEmpty { try save(stay, context) }
        var report = CleanupReport(driver: name, dryRun: dryRun)
        if !gone.isEmpty { report.removed["instance"] = gone.map(\.name) }
        report.spared = stay.filter { scope.spares(run: $0.run) }.map { "instance \($0.name) (run \($0.run ?? "?") is still going)" }
        return report
    }

    public func status(_ context: DriverContext) async throws -> DriverStatus {
        let state = try context.state.load()[driver: name]
        return DriverStatus(
            driver: name, installed: true, configured: state.configured, running: state.startedByHvctl,
            version: "fake", instances: try load(context).count, detail: "no hypervisor; calls are recorded")
    }

    public func launch(_ request: InstanceRequest, _ context: DriverContext) async throws -> Instance {
        let instance = request.name, image = request.image
        try InstanceName.validate(instance)
        try record("launch", context, instance)
        var list = try load(context)
        if list.contains(where: { $0.name == instance }) { throw HypervisorError.instanceExists(instance, driver: name) }
        let new = Instance(name: instance, driver: name, id: UUID().uuidString.lowercased(), state: "running", image: image ?? "fake", run: context.run.value)
        list.append(new)
        try save(list, context)
        return new
    }

    public func instances(_ context: DriverContext) async throws -> [Instance] { try load(context) }

    public func delete(_ instance: String, _ context: DriverContext) async throws {
        try record("delete", context, instance)
        var list = try load(context)
        guard list.contains(where: { $0.name == instance }) else { throw HypervisorError.noSuchInstance(instance, driver: name) }
        list.removeAll { $0.name == instance }
        try save(list, context)
    }
}

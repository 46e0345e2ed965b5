import Core
import PinnedThread
import FoundationEssentials
import Systemd

/// A driver on the Docker Engine API — Docker's, or the same API Podman serves — through its
/// daemon's systemd units and its Unix socket. Never a CLI. The verbs are shared; a driver
/// says which daemon, socket and settings are its own.
///
/// Both daemons are socket-activated: a connection to the socket starts them. So every look
/// at a daemon that may be stopped goes to systemd first, and the socket is only touched when
/// the daemon is up (`SystemdDaemon.isUp`).
public protocol EngineDriver: Hypervisor {
    var daemon: SystemdDaemon { get }
    /// The daemon, in messages: "dockerd".
    var engineName: String { get }
    func socket(_ settings: DriverSettings) -> String
    /// The image instances run from when --image names none (hvctl.conf's), nil for hvctl's own.
    func configuredImage(_ settings: DriverSettings) -> String?
    /// Instances' network mode.
    func network(_ settings: DriverSettings) -> String
    /// Cleanup kills running containers in a pass of its own before removing them (Docker);
    /// false: the forced removal kills them (Podman, where a separate kill costs as much again).
    var killsBeforeRemoving: Bool { get }
}

/// hvctl's marks on Engine API resources.
enum EngineMarks {
    static let managedFilter = "\(HvctlMark.managed)=true"
    /// Containers are hvctl's when they carry both labels. The managed label alone is not
    /// enough: hvctl's base image carries it too, and the daemon copies image labels onto every
    /// container made from the image, also by other tools. Only hvctl sets the instance label.
    static let containerFilter = [managedFilter, HvctlMark.instance]

    static func isHvctlContainer(_ labels: [String: String]?) -> Bool {
        labels?[HvctlMark.managed] == "true" && labels?[HvctlMark.instance] != nil
    }

    /// Containers carrying hvctl's mark AND on record in this state: a container made from a
    /// committed instance carries the same labels, and it is not hvctl's.
    static func owned(_ containers: [EngineClient.ContainerSummary], _ records: OwnedResources) -> [EngineClient.ContainerSummary] {
        containers.filter { isHvctlContainer($0.Labels) && records.owns(kind: "container", id: $0.Id, name: $0.name, run: $0.Labels?[HvctlMark.run]) }
    }

    /// A tag as hvctl wrote it: Podman names a local image `docker.io/hvctl/busybox:latest`
    /// (or `localhost/…`) where Docker says `hvctl/busybox:latest`.
    static func shortTag(_ tag: String) -> String {
        for prefix in ["docker.io/", "localhost/"] where tag.hasPrefix(prefix) { return String(tag.dropFirst(prefix.count)) }
        return tag
    }
}

extension EngineDriver {
    public var killsBeforeRemoving: Bool { true }

    private func records(_ context: DriverContext) throws -> OwnedResources {
        try context.state.load().owned(by: name)
    }

    // MARK: the five verbs

    public func install(_ context: DriverContext) async throws {
        if try await daemon.isInstalled(context) { return }
        guard context.settings.installPackages else {
            throw HypervisorError.notInstalled(driver: name, install: daemon.installHint)
        }
        let packages = daemon.packages.joined(separator: " ")
        context.progress("installing \(packages) with apt (a transient unit; output in its journal)")
        try await PackageInstaller.install(daemon.packages, context)
        guard try await daemon.unit(context).isKnown else {
            throw HypervisorError.daemonFailed("\(packages) was installed but systemd does not know \(daemon.service); run `systemctl daemon-reload`")
        }
    }

    /// Writes the consumer's config; ensures the base image when the daemon already runs
    /// (otherwise `start` does, once it answers, since importing needs the daemon).
    public func configure(_ context: DriverContext) async throws {
        var ini = try IniFile.load(context.settings.computeConfig)
        ini.set("DEFAULT", "compute_driver", computeDriver)
        try ini.write(to: context.settings.computeConfig)
        if try await daemon.isUp(context) {
            let client = try await engine(context)
            try await ensureBaseImage(client, context)
        }
        try context.state.update { $0[driver: name].configured = true }
    }

    public func start(_ context: DriverContext) async throws -> StartResult {
        _ = try await daemon.installed(context)
        let wasUp = try await daemon.isUp(context)
        if wasUp, let client = try? await engine(context, timeout: .seconds(5)) {
            try await ensureBaseImage(client, context)
            return .alreadyRunning
        }
        let socket = socket(context.settings)
        let seconds = try await daemon.start(context, wasUp: wasUp, waitingFor: "\(engineName) answers on \(socket)") {
            (try? await engine(context, timeout: .seconds(2))) != nil
        }
        try await ensureBaseImage(try await engine(context), context)
        return .started(seconds: seconds)
    }

    public func stop(_ context: DriverContext, force: Bool) async throws -> StopResult {
        guard try await daemon.isUp(context) else { return try await daemon.stopWhileDown(context, force: force) }
        let client = try await engine(context)
        let running = EngineMarks.owned(try await client.containers(labels: EngineMarks.containerFilter, all: false), try records(context))
        let grace = Int(context.settings.stopGrace.components.seconds)
        try await parallel(running.map(\.Id)) { try await client.stopContainer($0, timeout: grace) }
        return try await daemon.finishStop(context, force: force, stoppedInstances: running.count)
    }

    public func cleanup(_ context: DriverContext, dryRun: Bool, scope: CleanupScope) async throws -> CleanupReport {
        if let idle = try await daemon.unlessRunning(context, dryRun: dryRun) { return idle }
        var report = CleanupReport(driver: name, dryRun: dryRun)
        let client: EngineClient
        do {
            client = try await engine(context, timeout: .seconds(10))
        } catch {
            report.unreachable = "\(daemon.service) is active but the daemon does not answer on \(socket(context.settings)): \(error)"
            return report
        }
        let records = try records(context)
        var spared: [String] = []
        func inScope<T>(_ items: [T], run: (T) -> String?, name: (T) -> String, kind: String) -> [T] {
            items.filter { item in
                if scope.includes(run: run(item)) { return true }
                if scope.spares(run: run(item)) {
                    spared.append("\(kind) \(name(item)) (\(run(item).map { "run \($0) is" } ?? "hvctl runs are") still going)")
                }
                return false
            }
        }
        let marked = try await client.containers(labels: EngineMarks.containerFilter)
        let ownedContainers = EngineMarks.owned(marked, records)
        let containers = inScope(ownedContainers, run: { $0.Labels?[HvctlMark.run] }, name: \.name, kind: "container")
        // Only hvctl's own base image, by its name and its recorded id: images built FROM it
        // or committed from its containers inherit its label, and those are the user's.
        let markedImages = try await client.images(labels: [EngineMarks.managedFilter])
        let ownedImages = markedImages.compactMap { image -> EngineClient.ImageSummary? in
            var own = image
            own.RepoTags = image.RepoTags?.map(EngineMarks.shortTag).filter { $0.hasPrefix(BaseImage.repository + ":") }
            guard own.RepoTags?.isEmpty == false, records.owns(kind: "image", id: image.Id, name: own.RepoTags![0], run: nil) else { return nil }
            return own
        }
        let images = inScope(ownedImages, run: { $0.Labels?[HvctlMark.run] }, name: { $0.RepoTags?.first ?? $0.Id }, kind: "image")
        report.spared = spared
        report.removed = ["container": containers.map(\.name), "image": images.map { $0.RepoTags?.first ?? $0.Id }].filter { !$0.value.isEmpty }
        if dryRun {
            // What else is there, so a dry run shows that hvctl looked and leaves it: hvctl
            // creates no networks or volumes, and marked copies are not on record.
            let all = try await (client.containers(labels: []), client.networks(labels: []), client.volumes(labels: []), client.images(labels: []))
            report.unmarked = [
                "container": all.0.count - ownedContainers.count,
                "network": all.1.filter { !["bridge", "host", "none"].contains($0.Name) }.count,
                "volume": all.2.count,
                "image": all.3.count - ownedImages.count,
            ]
            return report
        }

        let clock = ContinuousClock()
        // Kill first, then remove: the two costs are told apart, and a removal never waits
        // for a graceful stop. A daemon whose forced removal kills as cheaply does it in one.
        let killStart = clock.now
        if killsBeforeRemoving {
            try await parallel(containers.filter { $0.State == "running" }.map(\.Id)) { try await client.killContainer($0) }
        }
        report.killSeconds = (clock.now - killStart).inSeconds
        let removeStart = clock.now
        try await parallel(containers.map(\.Id)) { try await client.removeContainer($0) }
        // An image that containers of other tools still use stays: removing it is refused,
        // and those containers are not hvctl's to remove.
        let kept = Kept()
        try await parallel(images.flatMap { image in (image.RepoTags ?? []).map { (tag: $0, id: image.Id) } }) { item in
            // Still the image on record? A tag moved since the listing names someone else's.
            guard try await client.imageID(item.tag) == item.id else { return }
            do {
                try await client.removeImage(item.tag)
            } catch EngineError.api(409, _) {
                await kept.add(item.tag)
            }
        }
        report.removeSeconds = (clock.now - removeStart).inSeconds
        report.kept = await kept.items
        if !report.kept.isEmpty {
            report.removed["image"] = report.removed["image"]?.filter { !report.kept.contains($0) }
            if report.removed["image"]?.isEmpty == true { report.removed["image"] = nil }
        }
        let removedImages = report.kept.isEmpty ? images.map(\.Id) : []
        try context.state.forget(
            driver: name, kind: "container", ids: containers.map(\.Id),
            unanswered: containers.map { ($0.name, $0.Labels?[HvctlMark.run]) })
        try context.state.forget(driver: name, kind: "image", ids: removedImages)
        if !removedImages.isEmpty { try context.state.update { $0[driver: name].baseImage = nil } }
        // Records whose resource is gone (removed by hand, or a creation that never happened)
        // go too, except those of runs still going, which may be creating them right now.
        if scope.run == nil {
            let present = Set(marked.map(\.Id) + markedImages.map(\.Id))
            let names = Set(marked.map(\.name))
            try context.state.prune(driver: name) { r in
                if let run = r.run, scope.isLive(run) { return true }
                return r.id.map(present.contains) ?? names.contains(r.name)
            }
        }
        return report
    }

    public func status(_ context: DriverContext) async throws -> DriverStatus {
        let configured = try context.state.load()[driver: name].configured
        if let down = try await daemon.statusUnlessRunning(context, configured: configured) { return down }
        let client = try await engine(context, timeout: .seconds(5))
        let version = try await client.version()
        let count = EngineMarks.owned(try await client.containers(labels: EngineMarks.containerFilter), try records(context)).count
        return DriverStatus(
            driver: name, installed: true, configured: configured, running: true,
            version: "\(version.Version) (API \(client.apiVersion))", instances: count,
            detail: "\(daemon.service) is active; \(socket(context.settings))")
    }

    // MARK: instances

    public func launch(_ request: InstanceRequest, _ context: DriverContext) async throws -> Instance {
        let instance = request.name, image = request.image
        try InstanceName.validate(instance)
        if request.kernel != nil || request.initrd != nil || request.cmdline != nil {
            throw HypervisorError.notSupported("\(name) instances are containers: they boot no kernel (--kernel, --initrd and --cmdline are for libvirt)")
        }
        let client = try await runningEngine(context)
        if let existing = try await client.container(named: instance) {
            throw EngineMarks.owned([existing], try records(context)).isEmpty
                ? HypervisorError.notManaged(instance, driver: name) : HypervisorError.instanceExists(instance, driver: name)
        }
        let reference: String
        if let image {
            reference = image
        } else {
            reference = try await ensureBaseImage(client, context)
        }
        // busybox sh as PID 1 gets no default signal handlers, so trap TERM to stop at once.
        // A named image runs its own command unless one is given.
        let idle = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; sleep 2147483647 & wait"]
        let command = request.command.isEmpty ? (image == nil ? idle : nil) : request.command
        let spec = EngineClient.ContainerSpec(
            Image: reference, Cmd: command,
            Labels: [HvctlMark.managed: "true", HvctlMark.run: context.run.value, HvctlMark.instance: instance],
            HostConfig: .init(
                NetworkMode: request.network ?? network(context.settings), Memory: request.memoryMiB.map { $0 << 20 },
                NanoCpus: request.vcpus.map { $0 * 1_000_000_000 }),
            StopTimeout: nil)
        // On record before the request: if this process dies before the reply, the reaper
        // still finds the container by its name and run.
        try context.state.record(ResourceRecord(driver: name, kind: "container", name: instance, run: context.run.value))
        let id: String
        do {
            id = try await client.createContainer(name: instance, spec)
        } catch EngineError.api(let status, let message) {
            // The daemon said no: nothing was made, so nothing stays on record.
            try? context.state.forget(driver: name, kind: "container", ids: [], unanswered: [(instance, context.run.value)])
            // Podman answers a taken name with 500 "… is already in use".
            if status == 409 || message.contains("is already in use") { throw HypervisorError.instanceExists(instance, driver: name) }
            if status == 404 {
                throw HypervisorError.imageMissing("cannot launch \(instance): \(message) (hvctl never pulls; import or load the image first)")
            }
            throw EngineError.api(status: status, message: message)
        }
        try context.state.confirm(driver: name, kind: "container", name: instance, run: context.run.value, id: id)
        try await client.startContainer(id)
        return Instance(name: instance, driver: name, id: id, state: "running", image: reference, run: context.run.value)
    }

    public func instances(_ context: DriverContext) async throws -> [Instance] {
        let client = try await runningEngine(context)
        return EngineMarks.owned(try await client.containers(labels: EngineMarks.containerFilter), try records(context)).map {
            Instance(name: $0.name, driver: name, id: $0.Id, state: $0.State, image: $0.Image, run: $0.Labels?[HvctlMark.run], address: $0.address)
        }.sorted { $0.name < $1.name }
    }

    public func delete(_ instance: String, _ context: DriverContext) async throws {
        let client = try await runningEngine(context)
        guard let found = try await client.container(named: instance) else {
            throw HypervisorError.noSuchInstance(instance, driver: name)
        }
        guard !EngineMarks.owned([found], try records(context)).isEmpty else {
            throw HypervisorError.notManaged(instance, driver: name)
        }
        try await client.removeContainer(found.Id)
        try context.state.forget(driver: name, kind: "container", ids: [found.Id], unanswered: [(instance, found.Labels?[HvctlMark.run])])
    }

    /// The container's stdout and stderr as the daemon keeps them (`docker logs`).
    public func output(of instance: String, _ output: InstanceOutput, _ context: DriverContext, emit: @escaping @Sendable (String) -> Void) async throws {
        let client = try await runningEngine(context)
        guard let found = try await client.container(named: instance) else { throw HypervisorError.noSuchInstance(instance, driver: name) }
        guard !EngineMarks.owned([found], try records(context)).isEmpty else { throw HypervisorError.notManaged(instance, driver: name) }
        if output.follow {
            try await client.followLogs(found.Id, tail: output.lines) { emit($0.text) }
        } else {
            for frame in try await client.logs(found.Id, tail: output.lines) { emit(frame.text) }
        }
    }

    /// The container's stdin and output through the Engine API's attach (as `docker attach`).
    public func console(_ instance: String, _ terminal: ConsoleTerminal, _ context: DriverContext) async throws -> ConsoleTerminal.End {
        let client = try await runningEngine(context)
        guard let found = try await client.container(named: instance) else { throw HypervisorError.noSuchInstance(instance, driver: name) }
        guard !EngineMarks.owned([found], try records(context)).isEmpty else { throw HypervisorError.notManaged(instance, driver: name) }
        guard found.State == "running" else { throw HypervisorError.notRunning("\(instance) is \(found.State); its console is there only while it runs") }
        let (socket, version) = (client.socketPath, client.apiVersion)
        let attachment = try await BlockingThread(name: "hvctl-engine-attach").run {
            try EngineAttachment.open(socket: socket, apiVersion: version, container: found.Id, timeout: .seconds(10))
        }
        return await terminal.pump(receive: { attachment.receive() }, send: { attachment.send($0) }, interrupt: { attachment.interrupt() })
    }

    // MARK: plumbing

    private func engine(_ context: DriverContext, timeout: Duration = .seconds(10)) async throws -> EngineClient {
        try await EngineClient.connect(socketPath: socket(context.settings), timeout: timeout, requestTimeout: .seconds(120))
    }

    /// The Engine, but only if the daemon is up already: never wake it through its socket.
    private func runningEngine(_ context: DriverContext) async throws -> EngineClient {
        try await daemon.requireRunning(context)
        return try await engine(context)
    }

    /// The base image instances run from; imports hvctl's busybox image (or the configured
    /// rootfs) when it is missing. Returns its reference.
    @discardableResult
    func ensureBaseImage(_ client: EngineClient, _ context: DriverContext) async throws -> String {
        if let named = context.settings.baseImage ?? configuredImage(context.settings) {
            guard try await client.imageExists(named) else {
                throw HypervisorError.imageMissing("the base image '\(named)' is not in \(engineName)'s images (hvctl never pulls; load or import it first)")
            }
            return named
        }
        let reference = BaseImage.reference
        if try await client.imageExists(reference) { return reference }
        context.progress("importing the base image \(reference)")
        let tar: Data
        if let rootfs = context.settings.baseRootfs {
            // It becomes the image every instance runs: as trusted as a hook.
            let checked = try PathTrust(.invoking, purpose: "import the rootfs tarball").verify(rootfs, as: .file)
            guard let data = FileManager.default.contents(atPath: checked) else {
                throw HypervisorError.unusableFile("cannot read the rootfs tarball \(rootfs)")
            }
            tar = data
        } else {
            tar = try BaseImage.rootfs()
        }
        // Managed, but no run's: the base image is shared by every run's instances, like the
        // compute config, so a reaper never takes it away from a run still using it; only
        // `hvctl cleanup` removes it.
        // On record before the import (by its tag: the id is the daemon's to choose), then by
        // its id: a later image tagged the same way by someone else is not hvctl's.
        try context.state.record(ResourceRecord(driver: name, kind: "image", name: reference, run: nil))
        try await client.importImage(
            tar, repository: BaseImage.repository, tag: BaseImage.tag,
            changes: ["LABEL \(HvctlMark.managed)=true", "CMD [\"/bin/sh\"]"])
        if let id = try await client.imageID(reference) {
            try context.state.confirm(driver: name, kind: "image", name: reference, run: nil, id: id)
        }
        try context.state.update { $0[driver: name].baseImage = reference }
        return reference
    }

}

/// Names collected from parallel work.
private actor Kept {
    private(set) var items: [String] = []
    func add(_ item: String) { items.append(item) }
}

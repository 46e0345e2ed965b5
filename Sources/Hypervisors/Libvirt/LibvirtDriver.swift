import Systemd

/// The libvirt driver. This issue brings only its status; the verbs arrive with the libvirt
/// driver issue and say so instead of doing half a job.
public struct LibvirtDriver: Hypervisor {
    public let name = "libvirt"
    public let computeDriver = "libvirt.LibvirtDriver"
    public var uri = "qemu:///system"

    public init() {}

    public func install(_ context: DriverContext) async throws { throw HypervisorError.notImplemented(driver: name, verb: "install") }
    public func configure(_ context: DriverContext) async throws { throw HypervisorError.notImplemented(driver: name, verb: "configure") }
    public func start(_ context: DriverContext) async throws -> StartResult { throw HypervisorError.notImplemented(driver: name, verb: "start") }
    public func stop(_ context: DriverContext, force: Bool) async throws -> StopResult { throw HypervisorError.notImplemented(driver: name, verb: "stop") }
    public func cleanup(_ context: DriverContext, dryRun: Bool) async throws -> CleanupReport { throw HypervisorError.notImplemented(driver: name, verb: "clean up") }
    public func launch(_ n: String, image: String?, _ context: DriverContext) async throws -> Instance { throw HypervisorError.notImplemented(driver: name, verb: "launch instances") }
    public func instances(_ context: DriverContext) async throws -> [Instance] { throw HypervisorError.notImplemented(driver: name, verb: "list instances") }
    public func delete(_ n: String, _ context: DriverContext) async throws { throw HypervisorError.notImplemented(driver: name, verb: "delete instances") }

    public func status(_ context: DriverContext) async throws -> DriverStatus {
        let service = try await context.systemd.unit("libvirtd.service")
        let configured = try context.state.load()[driver: name].configured
        guard service.isKnown else {
            return DriverStatus(driver: name, installed: false, configured: configured, running: false, detail: "libvirtd.service is not installed")
        }
        guard service.isActive else {
            return DriverStatus(driver: name, installed: true, configured: configured, running: false, detail: "libvirtd.service is \(service.activeState)")
        }
        let connection = try await LibvirtConnection.open(uri, readOnly: true)
        let hv = try await connection.hypervisor()
        return DriverStatus(
            driver: name, installed: true, configured: configured, running: true,
            version: "\(hv.type) \(hv.version)", instances: nil, detail: "libvirtd.service is active; \(uri)")
    }
}

@preconcurrency import CLibvirt
import Glibc
import PinnedThread

/// A connection to libvirt through its C API.
///
/// Safe from Swift concurrency because every call, including the isolated deinit that closes
/// the connection, is isolated to this actor. libvirt keeps the last error in thread-local
/// storage, but that needs no particular thread: a call and the read of its error are in one
/// synchronous actor method, which never changes thread. The actor runs on a pinned thread
/// instead of the cooperative pool because libvirt's calls block (a frozen daemon, a QEMU
/// that does not answer) and would stall the pool's few threads, and every other task, with them.
/// Domains leave the actor only as `Domain` values; `virDomainPtr`s never escape a method.
///
/// As libvirt requires of its clients, the process must ignore SIGPIPE (hvctl's main does):
/// a daemon that goes away leaves libvirt writing to a closed socket.
public actor LibvirtConnection {
    private let executor: PinnedExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private(set) var connection: OpaquePointer?
    public nonisolated let uri: String

    /// libvirt's default error handler prints every error to stderr; hvctl reports errors
    /// itself, so install a handler that does nothing (as libvirt's docs and libvirt-go do).
    private static let library: Result<LibvirtLibrary, LibvirtError> = LibvirtLibrary.shared.map { lib in
        _ = lib.virInitialize()
        lib.virSetErrorFunc(nil) { _, _ in }
        return lib
    }
    let lib: LibvirtLibrary

    private init(uri: String, lib: LibvirtLibrary) {
        self.uri = uri
        self.lib = lib
        executor = PinnedExecutor(name: "hvctl-libvirt")
    }

    public static func open(_ uri: String, readOnly: Bool = false) async throws -> LibvirtConnection {
        let c = LibvirtConnection(uri: uri, lib: try library.get())
        try await c.connect(readOnly: readOnly)
        return c
    }

    isolated deinit {
        if let connection { lib.virConnectClose(connection) }
        executor.shutdown()
    }

    private func connect(readOnly: Bool) throws {
        let c = readOnly ? lib.virConnectOpenReadOnly(uri) : lib.virConnectOpen(uri)
        guard let c else {
            throw LibvirtError.connect(uri: uri, message: Self.takeLastError(lib)?.message ?? "unknown error")
        }
        connection = c
    }

    // MARK: versions

    /// The libvirt library hvctl loaded.
    public func libraryVersion() throws -> LibvirtVersion {
        var v: UInt = 0
        guard lib.virGetVersion(&v, nil, nil) == 0 else { throw failure("virGetVersion") }
        return LibvirtVersion(v)
    }

    /// The hypervisor behind the URI ("QEMU", "TEST", …) and its version.
    public func hypervisor() throws -> (type: String, version: LibvirtVersion) {
        let c = try live()
        guard let type = lib.virConnectGetType(c) else { throw failure("virConnectGetType") }
        var v: UInt = 0
        guard lib.virConnectGetVersion(c, &v) == 0 else { throw failure("virConnectGetVersion") }
        return (String(cString: type), LibvirtVersion(v))
    }

    // MARK: domains

    /// Every domain, running or not. One that vanishes while it is being described (undefined
    /// by someone meanwhile) is left out; every handle is freed, whatever fails.
    public func domains() throws -> [Domain] {
        let c = try live()
        var list: UnsafeMutablePointer<virDomainPtr?>? = nil
        let n = lib.virConnectListAllDomains(c, &list, 0)
        guard n >= 0 else { throw failure("virConnectListAllDomains") }
        defer {
            for i in 0..<Int(n) { if let d = list?[i] { lib.virDomainFree(d) } }
            free(list)
        }
        var out: [Domain] = []
        for i in 0..<Int(n) {
            guard let d = list?[i] else { continue }
            do {
                out.append(try describe(d))
            } catch let error as LibvirtError where error.code == Int32(VIR_ERR_NO_DOMAIN.rawValue) {
                continue
            }
        }
        return out.sorted { $0.name < $1.name }
    }

    public func domain(named name: String) throws -> Domain {
        try withDomain(name) { try describe($0) }
    }

    public func domain(uuid: String) throws -> Domain {
        try withDomain(uuid, byUUID: true) { try describe($0) }
    }

    /// Defines (or redefines) a persistent domain from XML.
    @discardableResult
    public func define(xml: String) throws -> Domain {
        let c = try live()
        guard let d = lib.virDomainDefineXML(c, xml) else { throw failure("define") }
        defer { lib.virDomainFree(d) }
        return try describe(d)
    }

    public func start(_ name: String, byUUID: Bool = false) throws {
        try withDomain(name, byUUID: byUUID) { d in
            guard lib.virDomainCreate(d) == 0 else { throw failure("start \(name)") }
        }
    }

    /// Asks the guest to shut down (ACPI); returns at once — watch `domain(named:)`.
    public func shutdown(_ name: String, byUUID: Bool = false) throws {
        try withDomain(name, byUUID: byUUID) { d in
            guard lib.virDomainShutdown(d) == 0 else { throw failure("shutdown \(name)") }
        }
    }

    /// Stops the domain immediately (pulls the plug). `byUUID`: `name` is its UUID.
    public func destroy(_ name: String, byUUID: Bool = false) throws {
        try withDomain(name, byUUID: byUUID) { d in
            guard lib.virDomainDestroy(d) == 0 else { throw failure("destroy \(name)") }
        }
    }

    /// Removes the domain's definition together with its managed save, snapshot metadata and
    /// NVRAM. Drivers that refuse one of those flags get virsh's fallback: a plain undefine.
    public func undefine(_ name: String, byUUID: Bool = false) throws {
        try withDomain(name, byUUID: byUUID) { d in
            let flags =
                VIR_DOMAIN_UNDEFINE_MANAGED_SAVE.rawValue | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.rawValue
                | VIR_DOMAIN_UNDEFINE_NVRAM.rawValue | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA.rawValue
            if lib.virDomainUndefineFlags(d, flags) == 0 { return }
            let first = failure("undefine \(name)")
            guard first.code == Int32(VIR_ERR_NO_SUPPORT.rawValue) || first.code == Int32(VIR_ERR_INVALID_ARG.rawValue) else {
                throw first
            }
            guard lib.virDomainUndefine(d) == 0 else { throw failure("undefine \(name)") }
        }
    }

    /// The element of `namespace` in the domain's `<metadata>`, or nil when it has none
    /// (hvctl's mark, for example). Reads the live definition when running.
    public func metadata(of name: String, namespace: String, byUUID: Bool = false) throws -> String? {
        try withDomain(name, byUUID: byUUID) { d in
            guard let xml = lib.virDomainGetMetadata(d, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), namespace, 0) else {
                let e = failure("read metadata of \(name)")
                if e.code == Int32(VIR_ERR_NO_DOMAIN_METADATA.rawValue) { return nil }
                throw e
            }
            defer { free(xml) }
            return String(cString: xml)
        }
    }

    /// Whether the connection still answers (after a daemon restart it does not).
    public func isAlive() -> Bool {
        guard let connection else { return false }
        return lib.virConnectIsAlive(connection) == 1
    }

    // MARK: plumbing

    func live() throws -> OpaquePointer {
        guard let connection else { throw LibvirtError.closed }
        return connection
    }

    /// `name`: a domain name, or with `byUUID` a UUID string. Cleanup goes by UUID: the one
    /// hvctl recorded, not whatever is called that name now.
    func withDomain<T>(_ name: String, byUUID: Bool = false, _ body: (OpaquePointer) throws -> T) throws -> T {
        let c = try live()
        guard let d = byUUID ? lib.virDomainLookupByUUIDString(c, name) : lib.virDomainLookupByName(c, name) else {
            let e = failure("lookup \(name)")
            throw e.code == Int32(VIR_ERR_NO_DOMAIN.rawValue) ? LibvirtError.noSuchDomain(name) : e
        }
        defer { lib.virDomainFree(d) }
        return try body(d)
    }

    private func describe(_ d: OpaquePointer) throws -> Domain {
        guard let name = lib.virDomainGetName(d) else { throw failure("virDomainGetName") }
        var uuid = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        guard lib.virDomainGetUUIDString(d, &uuid) == 0 else { throw failure("virDomainGetUUIDString") }
        var state: Int32 = 0
        var reason: Int32 = 0
        guard lib.virDomainGetState(d, &state, &reason, 0) == 0 else { throw failure("virDomainGetState") }
        let id = lib.virDomainGetID(d)
        return Domain(
            name: String(cString: name),
            uuid: Self.uuidText(uuid),
            state: Domain.State(raw: state),
            persistent: lib.virDomainIsPersistent(d) == 1,
            id: id == UInt32.max ? nil : id)
    }

    /// The error of the call that just failed on this thread.
    func failure(_ operation: String) -> LibvirtError {
        Self.failure(operation, lib)
    }

    /// The same for a caller outside the actor (the console's threads): read at once, on the
    /// thread whose call failed.
    static func failure(_ operation: String, _ lib: LibvirtLibrary) -> LibvirtError {
        guard let e = takeLastError(lib) else {
            return .call(operation: operation, code: -1, message: "unknown error")
        }
        return .call(operation: operation, code: e.code, message: e.message)
    }

    /// A UUID libvirt wrote into a VIR_UUID_STRING_BUFLEN buffer.
    static func uuidText(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func takeLastError(_ lib: LibvirtLibrary) -> (code: Int32, message: String)? {
        guard let e = lib.virGetLastError() else { return nil }
        let out = (e.pointee.code, e.pointee.message.map { String(cString: $0) } ?? "unknown error")
        lib.virResetLastError()
        return out
    }
}

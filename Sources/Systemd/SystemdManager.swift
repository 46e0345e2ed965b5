import CSystemd
import Glibc
import PinnedThread

/// A connection to systemd's manager (PID 1) over sd-bus.
///
/// Laid out as systemd's src/run/run.c reads, one concept per file: this one connects and
/// makes Manager calls; `SystemdManager+Units` reads units; `SystemdManager+Jobs` queues jobs
/// and waits for them; `SystemdManager+Transient` starts transient services, whose properties
/// `TransientProperties` writes in run.c's groups.
///
/// Every call runs on one dedicated thread (`PinnedExecutor`): sd-bus objects are not
/// thread-safe, and the bus is pumped (`sd_bus_process`/`sd_bus_wait`) by the same thread that
/// issues calls, so a wait blocks only this manager, never Swift's cooperative pool. A job's
/// wait pumps in short slices and suspends between them, so other calls on this manager run
/// meanwhile.
public actor SystemdManager {
    static let destination = "org.freedesktop.systemd1"
    static let managerPath = "/org/freedesktop/systemd1"
    static let managerInterface = "org.freedesktop.systemd1.Manager"
    static let unitInterface = "org.freedesktop.systemd1.Unit"
    static let serviceInterface = "org.freedesktop.systemd1.Service"
    static let noSuchUnit = "org.freedesktop.systemd1.NoSuchUnit"

    private let executor: PinnedExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// nil only until `open` has connected.
    private var bus: Bus?
    let jobs = JobTracker()
    /// True on the system bus, false on the manager's private socket, which has no AddRef.
    private(set) var isBusClient = false
    /// Which transport actually answered, for messages and `hvctl doctor`.
    public private(set) var connectedVia = ""
    /// The longest one method call may take.
    public let callTimeout: Duration

    private init(callTimeout: Duration) {
        executor = PinnedExecutor(name: "hvctl-systemd")
        self.callTimeout = callTimeout
    }

    /// Connects and checks that the peer really is systemd (reads its version).
    public static func connect(
        _ transport: BusTransport = .automatic, callTimeout: Duration = .seconds(25)
    ) async throws -> SystemdManager {
        let manager = SystemdManager(callTimeout: callTimeout)
        try await manager.open(transport)
        return manager
    }

    isolated deinit {
        // The bus (with its match) is released with this deinit's stored properties, still
        // on the pinned thread: the executor's thread ends only after this job.
        executor.shutdown()
    }

    // MARK: connecting

    private func open(_ transport: BusTransport) throws {
        var attempts: [String] = []
        let candidates: [BusTransport] =
            transport == .automatic
            ? (geteuid() == 0 ? [.systemBus, .managerSocket()] : [.systemBus])
            : [transport]
        for candidate in candidates {
            switch Bus.open(candidate, on: executor) {
            case .failure(let failure):
                attempts.append("\(candidate): \(failure.reason)")
            case .success(let opened):
                if let failure = Self.awaitReady(opened, limit: min(callTimeout, .seconds(10))) {
                    attempts.append("\(candidate): \(failure.reason)")
                    continue
                }
                opened.setMethodCallTimeout(callTimeout)
                bus = opened
                do {
                    _ = try version()
                } catch {
                    attempts.append("\(candidate): \(error)")
                    bus = nil
                    continue
                }
                opened.flushesOnClose = true
                connectedVia = candidate.description
                isBusClient = opened.isBusClient
                try subscribe(opened)
                return
            }
        }
        throw SystemdError.unreachable(attempts: attempts)
    }

    /// Drives the connection's authentication and Hello until it is ready, for at most
    /// `limit`. sd-bus would otherwise wait up to its fixed 90 s authentication timeout
    /// inside the first call when the peer accepts the connection and never answers.
    private static func awaitReady(_ bus: Bus, limit: Duration) -> OpenFailure? {
        let deadline = ContinuousClock.now.advanced(by: limit)
        do {
            while !bus.isReady {
                if try bus.process() { continue }
                let left = deadline - ContinuousClock.now
                if left <= .zero { return OpenFailure("connected, but no answer within \(limit.formattedSeconds)") }
                try bus.wait(min(left, .milliseconds(100)))
            }
        } catch {
            return OpenFailure(error.description)
        }
        return nil
    }

    /// One match that feeds `jobs` for the life of the connection.
    ///
    /// No Subscribe(): systemd sends JobRemoved to the client that enqueued the job without
    /// it (the job tracks its sender, src/core/dbus-job.c), and on the private socket it sends
    /// every signal anyway. Subscribing would make systemd broadcast every unit's changes
    /// through the bus daemon to us, which we would only parse and drop.
    private func subscribe(_ bus: Bus) throws {
        do {
            try bus.matchSignal(
                sender: isBusClient ? Self.destination : nil, path: Self.managerPath, interface: Self.managerInterface,
                member: "JobRemoved", handler: JobTracker.handler, owner: jobs)
        } catch {
            throw SystemdError.callFailed(method: "AddMatch", target: "JobRemoved", message: error.description)
        }
    }

    /// The open connection.
    func connection() throws(SystemdError) -> Bus {
        guard let bus else { throw SystemdError.connectionLost("the connection is closed") }
        return bus
    }

    // MARK: Manager calls

    /// Calls a Manager method and returns systemd's reply.
    func call(_ member: String, target: String, _ build: (BusMessage) throws(BusMessageError) -> Void) throws(SystemdError) -> BusMessage {
        let bus = try connection()
        let message = try methodCall(member, target: target, on: bus, build)
        do {
            return try bus.call(message)
        } catch {
            throw SystemdError.callFailed(method: member, target: target, message: error.message)
        }
    }

    /// `call`, except that systemd not knowing the unit is an answer too: nil.
    func callUnlessNoSuchUnit(
        _ member: String, target: String, _ build: (BusMessage) throws(BusMessageError) -> Void
    ) throws(SystemdError) -> BusMessage? {
        let bus = try connection()
        let message = try methodCall(member, target: target, on: bus, build)
        do {
            return try bus.call(message)
        } catch {
            if error.name == Self.noSuchUnit { return nil }
            throw SystemdError.callFailed(method: member, target: target, message: error.message)
        }
    }

    private func methodCall(
        _ member: String, target: String, on bus: Bus, _ build: (BusMessage) throws(BusMessageError) -> Void
    ) throws(SystemdError) -> BusMessage {
        do {
            let message = try bus.newMethodCall(
                destination: Self.destination, path: Self.managerPath, interface: Self.managerInterface, member: member)
            try build(message)
            return message
        } catch {
            throw SystemdError.callFailed(method: member, target: target, message: "\(error)")
        }
    }

    /// A Manager call whose reply does not matter: queued without waiting a round trip.
    func send(_ member: String, _ argument: String) {
        guard let bus,
            let message = try? bus.newMethodCall(
                destination: Self.destination, path: Self.managerPath, interface: Self.managerInterface, member: member),
            (try? message.append(argument)) != nil,
            (try? message.setNoReply()) != nil
        else { return }
        try? bus.send(message)
    }

    // MARK: property reads

    func stringProperty(_ path: String, _ interface: String, _ member: String, target: String) throws(SystemdError) -> String {
        let bus = try connection()
        do {
            return try bus.getPropertyString(destination: Self.destination, path: path, interface: interface, member: member)
        } catch {
            throw SystemdError.callFailed(method: "Get \(member)", target: target, message: error.message)
        }
    }

    /// An "i" or "b" property.
    func int32Property(_ path: String, _ interface: String, _ member: String, type: Character = "i", target: String) throws(SystemdError) -> Int32 {
        let bus = try connection()
        do {
            return try bus.getPropertyTrivial(destination: Self.destination, path: path, interface: interface, member: member, type: type)
        } catch {
            throw SystemdError.callFailed(method: "Get \(member)", target: target, message: error.message)
        }
    }

    func bytesProperty(_ path: String, _ interface: String, _ member: String, target: String) throws(SystemdError) -> [UInt8] {
        let bus = try connection()
        do {
            return try bus.getProperty(destination: Self.destination, path: path, interface: interface, member: member, type: "ay").readBytes()
        } catch {
            throw SystemdError.callFailed(method: "Get \(member)", target: target, message: "\(error)")
        }
    }

    static func validate(_ name: String) throws(SystemdError) {
        if let problem = UnitName.problem(with: name) {
            throw SystemdError.invalidUnitName(name, reason: problem)
        }
    }
}

extension BusMessage {
    /// The object path a job-queueing call answers with.
    func readObjectPath(answering method: String, _ target: String) throws(SystemdError) -> String {
        do {
            return try readObjectPath()
        } catch {
            throw SystemdError.callFailed(method: method, target: target, message: error.description)
        }
    }
}

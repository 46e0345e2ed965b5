import CSystemd
import FoundationEssentials
import Glibc
import PinnedThread

/// A connection to systemd's manager (PID 1) over sd-bus.
///
/// Every call runs on one dedicated thread (`PinnedExecutor`): sd-bus objects are not
/// thread-safe, and the bus is pumped (`sd_bus_process`/`sd_bus_wait`) by the same thread that
/// issues calls, so a wait blocks only this manager, never Swift's cooperative pool.
public actor SystemdManager {
    static let destination = "org.freedesktop.systemd1"
    static let managerPath = "/org/freedesktop/systemd1"
    static let managerInterface = "org.freedesktop.systemd1.Manager"
    static let unitInterface = "org.freedesktop.systemd1.Unit"

    private let executor: PinnedExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private var bus: OpaquePointer?
    private var jobSlot: OpaquePointer?
    private let jobs = JobTracker()
    /// True on the system bus, false on the manager's private socket, which has no AddRef.
    private var isBusClient = false
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
        if let jobSlot { sd_bus_slot_unref(jobSlot) }
        if let bus { sd_bus_flush_close_unref(bus) }
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
            switch Self.rawOpen(candidate) {
            case .failure(let reason):
                attempts.append("\(candidate): \(reason.reason)")
            case .success(let opened):
                if let failure = Self.awaitReady(opened, limit: min(callTimeout, .seconds(10))) {
                    attempts.append("\(candidate): \(failure.reason)")
                    // No flush: a peer that never answered would hold it for sd-bus's 90 s.
                    sd_bus_close_unref(opened)
                    continue
                }
                // Bounds every call, property reads included, not only those made via call().
                sd_bus_set_method_call_timeout(opened, callTimeout.microseconds)
                bus = opened
                do {
                    _ = try version()
                } catch {
                    attempts.append("\(candidate): \(error)")
                    sd_bus_close_unref(opened)
                    bus = nil
                    continue
                }
                connectedVia = candidate.description
                isBusClient = sd_bus_is_bus_client(opened) > 0
                try subscribe()
                return
            }
        }
        throw SystemdError.unreachable(attempts: attempts)
    }

    private static func rawOpen(_ transport: BusTransport) -> Result<OpaquePointer, OpenFailure> {
        var b: OpaquePointer? = nil
        let r: Int32
        switch transport {
        case .automatic, .systemBus:
            r = sd_bus_open_system(&b)
        case .managerSocket(let path):
            guard geteuid() == 0 else { return .failure(OpenFailure("the manager socket needs root")) }
            guard access(path, F_OK) == 0 else { return .failure(OpenFailure("\(path) does not exist")) }
            var s: OpaquePointer? = nil
            var rr = sd_bus_new(&s)
            if rr >= 0, let s {
                rr = sd_bus_set_address(s, "unix:path=\(path)")
                if rr >= 0 { rr = sd_bus_start(s) }
                if rr < 0 { sd_bus_unref(s) } else { b = s }
            }
            r = rr
        case .remote(let host):
            r = sd_bus_open_system_remote(&b, host)
        case .machine(let name):
            r = sd_bus_open_system_machine(&b, name)
        }
        guard r >= 0, let b else { return .failure(OpenFailure(errnoText(r))) }
        return .success(b)
    }

    /// Drives the connection's authentication and Hello until it is ready, for at most
    /// `limit`. sd-bus would otherwise wait up to its fixed 90 s authentication timeout
    /// inside the first call when the peer accepts the connection and never answers.
    private static func awaitReady(_ bus: OpaquePointer, limit: Duration) -> OpenFailure? {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while sd_bus_is_ready(bus) <= 0 {
            let r = sd_bus_process(bus, nil)
            if r < 0 { return OpenFailure(errnoText(r)) }
            if r > 0 { continue }
            let left = deadline - ContinuousClock.now
            if left <= .zero { return OpenFailure("connected, but no answer within \(limit.formattedSeconds)") }
            let w = sd_bus_wait(bus, min(left, .milliseconds(100)).microseconds)
            if w < 0 && w != -EINTR { return OpenFailure(errnoText(w)) }
        }
        return nil
    }

    /// One match that feeds `jobs` for the life of the connection.
    ///
    /// No Subscribe(): systemd sends JobRemoved to the client that enqueued the job without
    /// it (the job tracks its sender, src/core/dbus-job.c), and on the private socket it sends
    /// every signal anyway. Subscribing would make systemd broadcast every unit's changes
    /// through the bus daemon to us, which we would only parse and drop.
    private func subscribe() throws {
        let userdata = Unmanaged.passUnretained(jobs).toOpaque()
        var slot: OpaquePointer? = nil
        let r = sd_bus_match_signal(
            bus, &slot, isBusClient ? Self.destination : nil, Self.managerPath, Self.managerInterface,
            "JobRemoved", JobTracker.handler, userdata)
        guard r >= 0 else {
            throw SystemdError.callFailed(method: "AddMatch", target: "JobRemoved", message: errnoText(r))
        }
        jobSlot = slot
    }

    // MARK: reading

    /// systemd's version string, e.g. "252.38-1~deb12u1".
    public func version() throws -> String {
        try stringProperty(Self.managerPath, Self.managerInterface, "Version", target: "manager")
    }

    /// The unit's load, active and sub state and, where the type has one, its Result.
    /// Looking at a unit never starts it (nor triggers its socket).
    public func unit(_ name: String) throws -> UnitState {
        try Self.validate(name)
        let path = UnitName.objectPath(name)
        let load = try stringProperty(path, Self.unitInterface, "LoadState", target: name)
        let active = try stringProperty(path, Self.unitInterface, "ActiveState", target: name)
        let sub = try stringProperty(path, Self.unitInterface, "SubState", target: name)
        var result: String? = nil
        if let iface = Self.typeInterface(of: name), load == "loaded" {
            result = try? stringProperty(path, iface, "Result", target: name)
        }
        return UnitState(name: name, loadState: load, activeState: active, subState: sub, result: result)
    }

    // MARK: jobs

    public func start(_ name: String, mode: JobMode = .replace, timeout: Duration = .seconds(90)) throws -> JobResult {
        try job("StartUnit", name, mode, timeout)
    }

    public func stop(_ name: String, mode: JobMode = .replace, timeout: Duration = .seconds(90)) throws -> JobResult {
        try job("StopUnit", name, mode, timeout)
    }

    public func restart(_ name: String, mode: JobMode = .replace, timeout: Duration = .seconds(90)) throws -> JobResult {
        try job("RestartUnit", name, mode, timeout)
    }

    /// Forgets a failed unit's state (`systemctl reset-failed`); a unit that is not loaded is fine.
    public func resetFailed(_ name: String) throws {
        try Self.validate(name)
        _ = try call("ResetFailedUnit", target: name, tolerating: ["org.freedesktop.systemd1.NoSuchUnit"]) { m in
            try m.append(name)
        }
    }

    /// Stops several units at once: every stop job is queued first, then all are awaited, so
    /// systemd tears them down in parallel. A unit that is not loaded counts as stopped.
    public func stop(units names: [String], timeout: Duration = .seconds(90)) throws -> [JobResult] {
        var queued: [(unit: String, job: String)] = []
        defer { for q in queued { jobs.forget(q.job) } }
        for name in names {
            try Self.validate(name)
            guard let reply = try call("StopUnit", target: name, tolerating: ["org.freedesktop.systemd1.NoSuchUnit"], { m in
                try m.append(name)
                try m.append(JobMode.replace.rawValue)
            }) else { continue }
            let path = try reply.readObjectPathOrThrow("StopUnit", name)
            jobs.await(path)
            queued.append((name, path))
        }
        return try queued.map { try JobResult(unit: $0.unit, result: waitForJob($0.job, what: "StopUnit \($0.unit)", limit: timeout)) }
    }

    /// Loaded units whose names match one of `patterns` (shell globs, as `systemctl list-units`).
    public func listUnits(matching patterns: [String]) throws -> [UnitState] {
        let reply = try call("ListUnitsByPatterns", target: patterns.joined(separator: " ")) { m in
            try m.append([String]())
            try m.append(patterns)
        }!
        do {
            var units: [UnitState] = []
            _ = try reply.enter("a", "(ssssssouso)")
            while try reply.enter("r", "ssssssouso") {
                let name = try reply.readString()
                _ = try reply.readString()  // description
                let load = try reply.readString()
                let active = try reply.readString()
                let sub = try reply.readString()
                _ = try reply.readString()  // following
                _ = try reply.readObjectPath()
                _ = try reply.readUInt32()  // job id
                _ = try reply.readString()  // job type
                _ = try reply.readObjectPath()
                try reply.exit()
                units.append(UnitState(name: name, loadState: load, activeState: active, subState: sub, result: nil))
            }
            try reply.exit()
            return units
        } catch {
            throw SystemdError.callFailed(method: "ListUnitsByPatterns", target: patterns.joined(separator: " "), message: "\(error)")
        }
    }

    /// The slice a unit runs in ("" for units that are not in one).
    public func slice(of name: String) throws -> String {
        try Self.validate(name)
        guard let iface = Self.typeInterface(of: name) else { return "" }
        return try stringProperty(UnitName.objectPath(name), iface, "Slice", target: name)
    }

    /// True for a unit made over D-Bus (StartTransientUnit), false for one from a unit file.
    public func isTransient(_ name: String) throws -> Bool {
        try Self.validate(name)
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var value: Int32 = 0
        let r = sd_bus_get_property_trivial(
            bus, Self.destination, UnitName.objectPath(name), Self.unitInterface, "Transient", &error, CChar(UInt8(ascii: "b")), &value)
        guard r >= 0 else { throw SystemdError.callFailed(method: "Get Transient", target: name, message: Self.text(of: &error, r)) }
        return value != 0
    }

    private func job(_ verb: String, _ name: String, _ mode: JobMode, _ timeout: Duration) throws -> JobResult {
        try Self.validate(name)
        let path = try call(verb, target: name) { m in
            try m.append(name)
            try m.append(mode.rawValue)
        }!.readObjectPathOrThrow(verb, name)
        let result = try waitForJob(path, what: "\(verb) \(name)", limit: timeout)
        return JobResult(unit: name, result: result)
    }

    /// Pumps the bus until JobRemoved for `path` arrives. `cancellable: false` is for cleanup
    /// that must finish even in a cancelled task (stopping a unit on the way out).
    private func waitForJob(_ path: String, what: String, limit: Duration, cancellable: Bool = true) throws -> String {
        let deadline = ContinuousClock.now.advanced(by: limit)
        jobs.await(path)
        defer { jobs.forget(path) }
        while true {
            if let done = jobs.take(path) { return done.result }
            let r = sd_bus_process(bus, nil)
            if r < 0 { throw SystemdError.connectionLost(errnoText(r)) }
            if r > 0 { continue }
            let left = deadline - ContinuousClock.now
            if left <= .zero { throw SystemdError.timedOut(what: what, after: limit) }
            if cancellable && Task.isCancelled { throw CancellationError() }
            // Wake at least every 100 ms to notice cancellation.
            let w = sd_bus_wait(bus, min(left, .milliseconds(100)).microseconds)
            if w < 0 && w != -EINTR { throw SystemdError.connectionLost(errnoText(w)) }
        }
    }

    // MARK: transient services

    /// Starts `service` as a transient oneshot unit and waits until its command has exited.
    ///
    /// `waitLimit` bounds hvctl's own wait (default: the runtime limit plus 30 s, or one hour);
    /// when it passes, the unit is stopped and `SystemdError.timedOut` thrown.
    public func run(_ service: TransientService, waitLimit: Duration? = nil) throws -> TransientResult {
        try Self.validate(service.name)
        guard service.name.hasSuffix(".service") else {
            throw SystemdError.invalidUnitName(service.name, reason: "a transient service's name must end in .service")
        }
        guard let program = service.command.first, program.hasPrefix("/") else {
            throw SystemdError.invalidUnitName(service.name, reason: "the command must start with an absolute path")
        }
        guard service.type == "oneshot" else {
            throw SystemdError.invalidUnitName(service.name, reason: "run() waits for a oneshot service; use launch() for type \(service.type)")
        }
        // On the private socket nothing can pin the unit (no AddRef), so keep failed units
        // loaded long enough to read their exit status, then reset them ourselves.
        let pinned = isBusClient
        let collectMode = pinned ? service.collectMode : "inactive"
        let resetAfter = !pinned && service.collectMode == "inactive-or-failed"

        let limit = waitLimit ?? ((service.runtimeMax ?? .seconds(3600)) + .seconds(30))
        let path = try call("StartTransientUnit", target: service.name) { m in
            try m.append(service.name)
            try m.append(JobMode.fail.rawValue)
            try m.open("a", "(sv)")
            try Self.appendProperties(of: service, collectMode: collectMode, addRef: pinned, to: m)
            try m.close()
            try m.open("a", "(sa(sv))")
            try m.close()
        }!.readObjectPathOrThrow("StartTransientUnit", service.name)

        let jobResult: String
        do {
            jobResult = try waitForJob(path, what: "\(service.name) to finish", limit: limit)
        } catch {
            // Timed out or cancelled (SIGINT/SIGTERM): nothing may keep running behind the
            // caller's back, so stop the unit and wait until systemd has killed its cgroup.
            if let stopJob = try? call("StopUnit", target: service.name, tolerating: ["org.freedesktop.systemd1.NoSuchUnit"], { m in
                try m.append(service.name)
                try m.append(JobMode.replace.rawValue)
            })?.readObjectPath() {
                _ = try? waitForJob(stopJob, what: "StopUnit \(service.name)", limit: .seconds(100), cancellable: false)
            }
            if pinned { send("UnrefUnit", service.name) } else { try? resetFailed(service.name) }
            throw error
        }

        let unitPath = UnitName.objectPath(service.name)
        // A oneshot's start job is "done" exactly when its command exited with success, so
        // the common case needs no further round trip; only a failure is looked into.
        var result = TransientResult(unit: service.name, result: "success", exit: .exited(0), invocationID: nil)
        if jobResult != "done" {
            let invocationBytes = try? bytesProperty(unitPath, Self.unitInterface, "InvocationID", target: service.name)
            result.invocationID = invocationBytes.flatMap { $0.count == 16 ? $0.map { String(format2: $0) }.joined() : nil }
            let serviceInterface = "org.freedesktop.systemd1.Service"
            let code = try? int32Property(unitPath, serviceInterface, "ExecMainCode", target: service.name)
            let status = try? int32Property(unitPath, serviceInterface, "ExecMainStatus", target: service.name)
            result.result = (try? stringProperty(unitPath, serviceInterface, "Result", target: service.name)) ?? jobResult
            switch (code, status) {
            case (1?, let s?): result.exit = TransientResult.Exit.exited(s)  // CLD_EXITED
            case (2?, let s?), (3?, let s?): result.exit = TransientResult.Exit.signaled(s)  // CLD_KILLED, CLD_DUMPED
            default: result.exit = TransientResult.Exit.unknown
            }
            if resetAfter { try? resetFailed(service.name) }
        }
        if pinned { send("UnrefUnit", service.name) }
        return result
    }

    /// Starts `service` (Type=exec) and returns once systemd has executed its command; the
    /// service then runs on its own, collected by systemd when it ends.
    public func launch(_ service: TransientService) throws {
        try Self.validate(service.name)
        guard let program = service.command.first, program.hasPrefix("/") else {
            throw SystemdError.invalidUnitName(service.name, reason: "the command must start with an absolute path")
        }
        var service = service
        if service.type == "oneshot" { service.type = "exec" }
        let path = try call("StartTransientUnit", target: service.name) { m in
            try m.append(service.name)
            try m.append(JobMode.fail.rawValue)
            try m.open("a", "(sv)")
            try Self.appendProperties(of: service, collectMode: "inactive-or-failed", addRef: false, to: m)
            try m.close()
            try m.open("a", "(sa(sv))")
            try m.close()
        }!.readObjectPathOrThrow("StartTransientUnit", service.name)
        let result = try waitForJob(path, what: "\(service.name) to start", limit: callTimeout, cancellable: false)
        guard result == "done" else { throw SystemdError.jobFailed(unit: service.name, verb: "start", result: result) }
    }

    private static func appendProperties(
        of s: TransientService, collectMode: String, addRef: Bool, to m: BusMessage
    ) throws(BusMessageError) {
        func property(_ name: String, _ signature: String, _ body: () throws(BusMessageError) -> Void) throws(BusMessageError) {
            try m.open("r", "sv")
            try m.append(name)
            try m.open("v", signature)
            try body()
            try m.close()
            try m.close()
        }
        try property("Description", "s") { () throws(BusMessageError) in
            try m.append(s.description ?? "hvctl: \(s.command.joined(separator: " "))")
        }
        try property("Type", "s") { () throws(BusMessageError) in try m.append(s.type) }
        try property("CollectMode", "s") { () throws(BusMessageError) in try m.append(collectMode) }
        if addRef {
            try property("AddRef", "b") { () throws(BusMessageError) in try m.append(true) }
        }
        try property("ExecStart", "a(sasb)") { () throws(BusMessageError) in
            try m.open("a", "(sasb)")
            try m.open("r", "sasb")
            try m.append(s.command[0])
            // systemd substitutes $VAR and $$ in ExecStart= at exec time, even for commands
            // sent over D-Bus (252 has no ExecStartEx no-env-expand flag); doubling every '$'
            // makes the command run with exactly the arguments the caller gave.
            // Every "$" doubled, scalar by scalar: systemd reads bytes, so one before a
            // combining mark is a "$" too.
            try m.append(s.command.map { $0.unicodeScalars.reduce(into: "") { out, c in out.unicodeScalars.append(contentsOf: c == "$" ? [c, c] : [c]) } })
            try m.append(false)
            try m.close()
            try m.close()
        }
        if !s.environment.isEmpty {
            try property("Environment", "as") { () throws(BusMessageError) in
                try m.append(s.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
            }
        }
        if let dir = s.workingDirectory {
            try property("WorkingDirectory", "s") { () throws(BusMessageError) in try m.append(dir) }
        }
        if let slice = s.slice {
            try property("Slice", "s") { () throws(BusMessageError) in try m.append(slice) }
        }
        if let max = s.runtimeMax {
            try property("TimeoutStartUSec", "t") { () throws(BusMessageError) in try m.append(max.microseconds) }
        }
        if let user = s.user {
            try property("User", "s") { () throws(BusMessageError) in try m.append(user) }
        }
        if let id = s.syslogIdentifier {
            try property("SyslogIdentifier", "s") { () throws(BusMessageError) in try m.append(id) }
        }
        if !s.logExtraFields.isEmpty {
            try property("LogExtraFields", "aay") { () throws(BusMessageError) in
                try m.open("a", "ay")
                for (k, v) in s.logExtraFields.sorted(by: { $0.key < $1.key }) {
                    try m.appendBytes(Array("\(k)=\(v)".utf8))
                }
                try m.close()
            }
        }
        if s.unlimitedLogRate {
            try property("LogRateLimitIntervalUSec", "t") { () throws(BusMessageError) in try m.append(UInt64(0)) }
        }
        for (name, value) in s.extraProperties {
            switch value {
            case .string(let v): try property(name, "s") { () throws(BusMessageError) in try m.append(v) }
            case .bool(let v): try property(name, "b") { () throws(BusMessageError) in try m.append(v) }
            case .uint64(let v): try property(name, "t") { () throws(BusMessageError) in try m.append(v) }
            case .int32(let v): try property(name, "i") { () throws(BusMessageError) in try m.append(v) }
            case .strings(let v): try property(name, "as") { () throws(BusMessageError) in try m.append(v) }
            }
        }
    }

    // MARK: plumbing

    private static func validate(_ name: String) throws {
        if let problem = UnitName.problem(with: name) {
            throw SystemdError.invalidUnitName(name, reason: problem)
        }
    }

    private static func typeInterface(of name: String) -> String? {
        let types = [
            "service": "Service", "socket": "Socket", "mount": "Mount", "swap": "Swap",
            "timer": "Timer", "path": "Path", "automount": "Automount", "scope": "Scope",
        ]
        guard let dot = name.lastIndex(of: "."), let t = types[String(name[name.index(after: dot)...])] else { return nil }
        return "org.freedesktop.systemd1.\(t)"
    }

    /// Calls a Manager method; returns nil when systemd answered with one of `tolerating`.
    private func call(
        _ member: String, target: String, tolerating: Set<String> = [],
        _ build: (BusMessage) throws -> Void
    ) throws -> BusMessage? {
        guard let bus else { throw SystemdError.connectionLost("the connection is closed") }
        var raw: OpaquePointer? = nil
        var r = sd_bus_message_new_method_call(bus, &raw, Self.destination, Self.managerPath, Self.managerInterface, member)
        guard r >= 0, let raw else {
            throw SystemdError.callFailed(method: member, target: target, message: errnoText(r))
        }
        let message = BusMessage(owning: raw)
        do {
            try build(message)
        } catch {
            throw SystemdError.callFailed(method: member, target: target, message: "\(error)")
        }
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var reply: OpaquePointer? = nil
        r = sd_bus_call(bus, raw, 0, &error, &reply)  // 0: the connection's method call timeout
        if r < 0 {
            if let name = error.name.map({ String(cString: $0) }), tolerating.contains(name) { return nil }
            throw SystemdError.callFailed(method: member, target: target, message: Self.text(of: &error, r))
        }
        guard let reply else { throw SystemdError.callFailed(method: member, target: target, message: "no reply") }
        return BusMessage(owning: reply)
    }

    /// A Manager call whose reply does not matter: queued without waiting a round trip.
    private func send(_ member: String, _ argument: String) {
        guard let bus else { return }
        var raw: OpaquePointer? = nil
        guard sd_bus_message_new_method_call(bus, &raw, Self.destination, Self.managerPath, Self.managerInterface, member) >= 0,
            let raw
        else { return }
        let message = BusMessage(owning: raw)
        guard (try? message.append(argument)) != nil else { return }
        sd_bus_message_set_expect_reply(raw, 0)
        sd_bus_send(bus, raw, nil)
    }

    private func stringProperty(_ path: String, _ iface: String, _ member: String, target: String) throws -> String {
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var out: UnsafeMutablePointer<CChar>? = nil
        defer { free(out) }
        let r = sd_bus_get_property_string(bus, Self.destination, path, iface, member, &error, &out)
        guard r >= 0, let out else {
            throw SystemdError.callFailed(method: "Get \(member)", target: target, message: Self.text(of: &error, r))
        }
        return String(cString: out)
    }

    private func int32Property(_ path: String, _ iface: String, _ member: String, target: String) throws -> Int32 {
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var value: Int32 = 0
        let r = sd_bus_get_property_trivial(bus, Self.destination, path, iface, member, &error, CChar(UInt8(ascii: "i")), &value)
        guard r >= 0 else {
            throw SystemdError.callFailed(method: "Get \(member)", target: target, message: Self.text(of: &error, r))
        }
        return value
    }

    private func bytesProperty(_ path: String, _ iface: String, _ member: String, target: String) throws -> [UInt8] {
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var reply: OpaquePointer? = nil
        let r = sd_bus_get_property(bus, Self.destination, path, iface, member, &error, &reply, "ay")
        guard r >= 0, let reply else {
            throw SystemdError.callFailed(method: "Get \(member)", target: target, message: Self.text(of: &error, r))
        }
        do {
            return try BusMessage(owning: reply).readBytes()
        } catch {
            throw SystemdError.callFailed(method: "Get \(member)", target: target, message: error.description)
        }
    }

    private static func text(of error: inout sd_bus_error, _ r: Int32) -> String {
        if let message = error.message { return String(cString: message) }
        return errnoText(r)
    }
}

private struct OpenFailure: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

extension BusMessage {
    fileprivate func readObjectPathOrThrow(_ method: String, _ target: String) throws -> String {
        do {
            return try readObjectPath()
        } catch {
            throw SystemdError.callFailed(method: method, target: target, message: error.description)
        }
    }
}

extension String {
    /// Two lower-case hex digits.
    fileprivate init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
    }
}

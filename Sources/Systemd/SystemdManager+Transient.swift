/// Transient services, as run.c's start_transient_service: StartTransientUnit with the
/// properties `TransientProperties` writes, then (for `run`) the wait and the exit status.
extension SystemdManager {
    /// Starts `service` as a transient oneshot unit and waits until its command has exited.
    ///
    /// `waitLimit` bounds hvctl's own wait (default: the runtime limit plus 30 s, or one hour);
    /// when it passes, the unit is stopped and `SystemdError.timedOut` thrown.
    public func run(_ service: TransientService, waitLimit: Duration? = nil) async throws -> TransientResult {
        try Self.validate(service.name)
        guard service.name.hasSuffix(".service") else {
            throw SystemdError.invalidUnitName(service.name, reason: "a transient service's name must end in .service")
        }
        try Self.validateCommand(of: service)
        guard service.type == "oneshot" else {
            throw SystemdError.notOneshot(unit: service.name, type: service.type)
        }
        // On the private socket nothing can pin the unit (no AddRef), so keep failed units
        // loaded long enough to read their exit status, then reset them ourselves.
        let pinned = isBusClient
        let collectMode = pinned ? service.collectMode : "inactive"
        let resetAfter = !pinned && service.collectMode == "inactive-or-failed"

        let limit = waitLimit ?? ((service.runtimeMax ?? .seconds(3600)) + .seconds(30))
        let path = try startTransient(service, collectMode: collectMode, addRef: pinned)

        let jobResult: String
        do {
            jobResult = try await waitForJob(path, what: "\(service.name) to finish", limit: limit)
        } catch {
            // Timed out or cancelled (SIGINT/SIGTERM): nothing may keep running behind the
            // caller's back, so stop the unit and wait until systemd has killed its cgroup.
            if let stopJob = try? queueStop(service.name) {
                _ = try? await waitForJob(stopJob, what: "StopUnit \(service.name)", limit: .seconds(100), cancellable: false)
            }
            if pinned { send("UnrefUnit", service.name) } else { try? resetFailed(service.name) }
            throw error
        }

        var result = TransientResult(unit: service.name, result: "success", exit: .unknown, invocationID: nil)
        if jobResult == "done" {
            // A oneshot's start job is "done" exactly when its command exited with a status
            // the unit counts as success. Pinned, the unit is still there to say which.
            // Unpinned, the manager has already collected it: Type=oneshot counts only exit 0
            // as clean (src/shared/exit-status.c, is_clean_exit), so without a
            // SuccessExitStatus= of the caller's that is what it was.
            if pinned {
                result.exit = mainExit(of: service.name)
            } else if !service.extraProperties.contains(where: { $0.name == "SuccessExitStatus" }) {
                result.exit = .exited(0)
            }
        } else {
            let unitPath = UnitName.objectPath(service.name)
            let invocationBytes = try? bytesProperty(unitPath, Self.unitInterface, "InvocationID", target: service.name)
            result.invocationID = invocationBytes.flatMap { $0.count == 16 ? $0.map { String(format2: $0) }.joined() : nil }
            result.exit = mainExit(of: service.name)
            result.result = (try? stringProperty(unitPath, Self.serviceInterface, "Result", target: service.name)) ?? jobResult
            if resetAfter { try? resetFailed(service.name) }
        }
        if pinned { send("UnrefUnit", service.name) }
        return result
    }

    /// Starts `service` (Type=exec) and returns once systemd has executed its command; the
    /// service then runs on its own, collected by systemd when it ends.
    public func launch(_ service: TransientService) async throws {
        try Self.validate(service.name)
        try Self.validateCommand(of: service)
        var service = service
        if service.type == "oneshot" { service.type = "exec" }
        let path = try startTransient(service, collectMode: "inactive-or-failed", addRef: false)
        let result = try await waitForJob(path, what: "\(service.name) to start", limit: callTimeout, cancellable: false)
        guard result == "done" else { throw SystemdError.jobFailed(unit: service.name, verb: "start", result: result) }
    }

    /// StartTransientUnit in fail mode, its job registered for `waitForJob`.
    private func startTransient(_ service: TransientService, collectMode: String, addRef: Bool) throws(SystemdError) -> String {
        try queueJob("StartTransientUnit", target: service.name) { m throws(BusMessageError) in
            try m.append(service.name)
            try m.append(JobMode.fail.rawValue)
            try m.open("a", "(sv)")
            try TransientProperties(m).service(service, collectMode: collectMode, addRef: addRef)
            try m.close()
            try m.open("a", "(sa(sv))")  // no auxiliary units
            try m.close()
        }
    }

    private static func validateCommand(of service: TransientService) throws(SystemdError) {
        guard let program = service.command.first, program.hasPrefix("/") else {
            throw SystemdError.relativeCommand(unit: service.name, program: service.command.first ?? "")
        }
    }

    /// How the service's main process ended, as systemd recorded it (ExecMainCode and
    /// ExecMainStatus); `.unknown` when systemd cannot say.
    private func mainExit(of unit: String) -> TransientResult.Exit {
        let path = UnitName.objectPath(unit)
        guard let code = try? int32Property(path, Self.serviceInterface, "ExecMainCode", target: unit),
            let status = try? int32Property(path, Self.serviceInterface, "ExecMainStatus", target: unit)
        else { return .unknown }
        return TransientResult.Exit(code: code, status: status)
    }
}

extension String {
    /// Two lower-case hex digits.
    fileprivate init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
    }
}

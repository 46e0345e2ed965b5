/// Jobs: queueing them (StartUnit and friends) and waiting for their JobRemoved, as run.c
/// does with bus_wait_for_jobs.
extension SystemdManager {
    /// How long one wait on the bus may hold this manager before other calls get a turn.
    static let waitSlice = Duration.milliseconds(20)

    public func start(_ name: String, mode: JobMode = .replace, timeout: Duration = .seconds(90)) async throws -> JobResult {
        try await job("StartUnit", name, mode, timeout)
    }

    public func stop(_ name: String, mode: JobMode = .replace, timeout: Duration = .seconds(90)) async throws -> JobResult {
        try await job("StopUnit", name, mode, timeout)
    }

    public func restart(_ name: String, mode: JobMode = .replace, timeout: Duration = .seconds(90)) async throws -> JobResult {
        try await job("RestartUnit", name, mode, timeout)
    }

    /// Forgets a failed unit's state (`systemctl reset-failed`); a unit that is not loaded is fine.
    public func resetFailed(_ name: String) throws {
        try Self.validate(name)
        _ = try callUnlessNoSuchUnit("ResetFailedUnit", target: name) { m throws(BusMessageError) in
            try m.append(name)
        }
    }

    /// Stops several units at once: every stop job is queued first, then all are awaited, so
    /// systemd tears them down in parallel. A unit that is not loaded counts as stopped.
    public func stop(units names: [String], timeout: Duration = .seconds(90)) async throws -> [JobResult] {
        var queued: [(unit: String, job: String)] = []
        defer { for q in queued { jobs.forget(q.job) } }
        for name in names {
            guard let job = try queueStop(name) else { continue }
            queued.append((name, job))
        }
        var results: [JobResult] = []
        for q in queued {
            results.append(JobResult(unit: q.unit, result: try await waitForJob(q.job, what: "StopUnit \(q.unit)", limit: timeout)))
        }
        return results
    }

    private func job(_ verb: String, _ name: String, _ mode: JobMode, _ timeout: Duration) async throws -> JobResult {
        try Self.validate(name)
        let path = try queueJob(verb, target: name) { m throws(BusMessageError) in
            try m.append(name)
            try m.append(mode.rawValue)
        }
        let result = try await waitForJob(path, what: "\(verb) \(name)", limit: timeout)
        return JobResult(unit: name, result: result)
    }

    /// Calls a Manager method that answers with a job and registers the job with `jobs`.
    ///
    /// Synchronous on purpose: sd_bus_call queues, and does not dispatch, the messages that
    /// arrive while it waits, and nothing can pump the bus between its return and the
    /// registration, so the job's JobRemoved cannot be dispatched before it is awaited.
    func queueJob(_ verb: String, target: String, _ build: (BusMessage) throws(BusMessageError) -> Void) throws(SystemdError) -> String {
        let path = try call(verb, target: target, build).readObjectPath(answering: verb, target)
        jobs.await(path)
        return path
    }

    /// StopUnit in replace mode, registered as `queueJob` does; nil when systemd does not know
    /// the unit (nothing to stop).
    func queueStop(_ name: String) throws(SystemdError) -> String? {
        try Self.validate(name)
        guard
            let reply = try callUnlessNoSuchUnit("StopUnit", target: name, { m throws(BusMessageError) in
                try m.append(name)
                try m.append(JobMode.replace.rawValue)
            })
        else { return nil }
        let path = try reply.readObjectPath(answering: "StopUnit", name)
        jobs.await(path)
        return path
    }

    /// Pumps the bus until JobRemoved for `path` (queued by `queueJob` or `queueStop`) arrives,
    /// for at most `limit`. `cancellable: false` is for cleanup that must finish even in a
    /// cancelled task (stopping a unit on the way out).
    ///
    /// Waits on the bus in slices of `waitSlice` and suspends between them, so other calls on
    /// this manager (another driver's cleanup) run meanwhile instead of waiting for this job.
    /// Whichever waiter pumps the bus, JobRemoved lands in `jobs` for the job it names.
    func waitForJob(_ path: String, what: String, limit: Duration, cancellable: Bool = true) async throws -> String {
        let deadline = ContinuousClock.now.advanced(by: limit)
        defer { jobs.forget(path) }
        while true {
            if let done = jobs.take(path) { return done.result }
            let bus = try connection()
            do {
                if try bus.process() { continue }
            } catch {
                throw SystemdError.connectionLost(error.description)
            }
            let left = deadline - ContinuousClock.now
            if left <= .zero { throw SystemdError.timedOut(what: what, after: limit) }
            if cancellable && Task.isCancelled { throw CancellationError() }
            do {
                try bus.wait(min(left, Self.waitSlice))
            } catch {
                throw SystemdError.connectionLost(error.description)
            }
            await Task.yield()
        }
    }
}

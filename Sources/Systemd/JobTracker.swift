import CSystemd

/// Collects JobRemoved signals for the jobs a `SystemdManager` waits on.
///
/// Lives on the manager's pinned thread: the C callback runs inside `sd_bus_process`, which
/// only the manager calls. A job path is registered right after the call that created it
/// returns (`SystemdManager.queueJob`, with no suspension in between); sd_bus_call queues,
/// and does not dispatch, messages that arrive meanwhile, so no JobRemoved can be handled
/// before its path is registered.
///
/// Several waits may be under way at once (each suspends between its slices on the bus), and
/// whichever pumps the bus records every awaited job's JobRemoved here, so a wait finds its
/// result even when another wait's pumping received it.
final class JobTracker {
    private var awaited: Set<String> = []
    private var finished: [String: (unit: String, result: String)] = [:]

    func await(_ jobPath: String) { awaited.insert(jobPath) }

    func take(_ jobPath: String) -> (unit: String, result: String)? {
        guard let done = finished.removeValue(forKey: jobPath) else { return nil }
        awaited.remove(jobPath)
        return done
    }

    func forget(_ jobPath: String) {
        awaited.remove(jobPath)
        finished.removeValue(forKey: jobPath)
    }

    fileprivate func record(path: String, unit: String, result: String) {
        if awaited.contains(path) { finished[path] = (unit, result) }
    }

    /// The sd-bus handler; `userdata` is an unretained `JobTracker` kept alive by the manager
    /// for as long as the match slot exists.
    static let handler: sd_bus_message_handler_t = { message, userdata, _ in
        guard let message, let userdata else { return 0 }
        let tracker = Unmanaged<JobTracker>.fromOpaque(userdata).takeUnretainedValue()
        let m = BusMessage(owning: sd_bus_message_ref(message))
        // JobRemoved(u id, o job, s unit, s result)
        guard (try? m.readUInt32()) != nil,
            let path = try? m.readObjectPath(),
            let unit = try? m.readString(),
            let result = try? m.readString()
        else { return 0 }
        tracker.record(path: path, unit: unit, result: result)
        return 0
    }
}

import Dispatch
import Synchronization

/// A serial executor that runs every job on one dedicated OS thread.
///
/// sd-journal allows an object to be used only by the thread that created it, for its whole
/// life, and libvirt keeps its last error in thread-local storage. A default actor may resume
/// on any thread of the cooperative pool, so the actors that own those C objects use this
/// executor instead: every isolated call, including the isolated deinit that frees the object,
/// runs on the same thread.
///
/// The thread ends after `shutdown()` once its queue is empty; owners call it from their
/// isolated deinit.
public final class PinnedExecutor: SerialExecutor, Sendable {
    private struct Queue {
        var jobs: [UnownedJob] = []
        var head = 0
        var stopping = false
    }

    private let queue = Mutex(Queue())
    /// Signalled once per queued job and once for `shutdown()`, so the thread sleeps only
    /// while there is nothing to do.
    private let wake = DispatchSemaphore(value: 0)
    public let name: String

    public init(name: String) {
        self.name = name
        DetachedThread.start(name: name) { [self] in self.runLoop() }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        queue.withLock { $0.jobs.append(unowned) }
        wake.signal()
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets the thread finish once the jobs already queued have run.
    public func shutdown() {
        queue.withLock { $0.stopping = true }
        wake.signal()
    }

    private func runLoop() {
        while let job = nextJob() {
            job.runSynchronously(on: asUnownedSerialExecutor())
        }
    }

    private func nextJob() -> UnownedJob? {
        wake.wait()
        return queue.withLock { queue in
            // Every wake is a job's or the shutdown's, and the jobs queued before the shutdown
            // signalled before it: a wake that finds no job is the shutdown's.
            guard queue.head < queue.jobs.count else { return nil }
            let job = queue.jobs[queue.head]
            queue.head += 1
            if queue.head == queue.jobs.count {
                // Reuse the storage instead of letting a drained prefix grow without bound.
                queue.jobs.removeAll(keepingCapacity: true)
                queue.head = 0
            }
            return job
        }
    }
}

import Foundation

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
public final class PinnedExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked Sendable: the only mutable state, `queue` and `stopping`, is read and written
    // with `condition` locked, and `name` is immutable.
    private let condition = NSCondition()
    private var queue: [UnownedJob] = []
    private var head = 0
    private var stopping = false
    public let name: String

    public init(name: String) {
        self.name = name
        let thread = Thread { [self] in self.runLoop() }
        thread.name = name
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        queue.append(unowned)
        condition.signal()
        condition.unlock()
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets the thread finish once the jobs already queued have run.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func runLoop() {
        while let job = nextJob() {
            job.runSynchronously(on: asUnownedSerialExecutor())
        }
    }

    private func nextJob() -> UnownedJob? {
        condition.lock()
        defer { condition.unlock() }
        while head == queue.count {
            if stopping { return nil }
            condition.wait()
        }
        let job = queue[head]
        head += 1
        if head == queue.count {
            // Reuse the storage instead of letting a drained prefix grow without bound.
            queue.removeAll(keepingCapacity: true)
            head = 0
        }
        return job
    }
}

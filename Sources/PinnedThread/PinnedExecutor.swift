import Dispatch
import Glibc
import Synchronization

/// A serial executor that runs every job on one dedicated OS thread.
///
/// Two reasons to use it for the actors that own C objects. sd-journal allows an object to be
/// used only by the thread that opened it, for its whole life, and a default actor may resume
/// on any thread of the cooperative pool: here every isolated call, including the isolated
/// deinit that frees the object, runs on the same thread. And sd-bus, sd-journal and libvirt
/// block in their calls (a method call's reply, a journal wait, a frozen daemon): on the
/// cooperative pool, which has as many threads as cores, that would stall every other task;
/// here it stalls only the owning actor.
///
/// The executor proves its isolation as swift-nio's event loops do (`checkIsolated()` is a
/// precondition that the caller is on the loop's thread): the runtime's `assumeIsolated` and
/// `preconditionIsolated` ask the thread, not only which executor a task last ran on, and
/// the owners call `preconditionOnThread()` before each C call that needs the thread.
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
    /// The pinned thread's pthread_t, 0 until it has started. Stored by the thread itself
    /// before it runs its first job, so a job reading it always finds it set.
    private let pinned = Atomic<UInt>(0)
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

    /// The thread every job runs on; nil until it has started.
    public var thread: pthread_t? {
        let t = pinned.load(ordering: .acquiring)
        return t == 0 ? nil : pthread_t(t)
    }

    /// True on the pinned thread, and only there.
    public var isCurrentThread: Bool {
        guard let thread else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    /// Traps unless the caller runs on the pinned thread: how an owner checks before a C
    /// call that must not leave it.
    public func preconditionOnThread(file: StaticString = #fileID, line: UInt = #line) {
        precondition(isCurrentThread, "not on \(name)'s pinned thread", file: file, line: line)
    }

    /// The runtime's question when a task's executor does not already answer it (an
    /// `assumeIsolated` from a callback, for one): traps off the pinned thread.
    public func checkIsolated() {
        preconditionOnThread()
    }

    /// The same question without trapping, which the runtime asks first when it can.
    public func isIsolatingCurrentContext() -> Bool? {
        isCurrentThread
    }

    /// Lets the thread finish once the jobs already queued have run.
    public func shutdown() {
        queue.withLock { $0.stopping = true }
        wake.signal()
    }

    private func runLoop() {
        pinned.store(UInt(pthread_self()), ordering: .releasing)
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

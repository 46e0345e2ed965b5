import Glibc
import PinnedThread
import Testing

/// An actor on a PinnedExecutor, recording which OS thread each call ran on and what the
/// executor said about it there.
actor ThreadRecorder {
    let executor = PinnedExecutor(name: "test-pinned")
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private(set) var threads: Set<pthread_t> = []
    private(set) var order: [Int] = []
    /// Calls that ran where the executor did not claim the thread.
    private(set) var offThread = 0

    func record(_ i: Int) {
        threads.insert(pthread_self())
        order.append(i)
        if !executor.isCurrentThread || executor.isIsolatingCurrentContext() != true { offThread += 1 }
    }

    /// Traps unless this runs on the executor's thread.
    func checked() {
        executor.checkIsolated()
    }

    func snapshot() -> (threads: Set<pthread_t>, count: Int, offThread: Int) { (threads, order.count, offThread) }

    isolated deinit { executor.shutdown() }
}

@Suite("PinnedExecutor")
struct PinnedExecutorTests {
    @Test("every call from many concurrent tasks runs on the executor's one thread, and it says so there")
    func oneThread() async throws {
        let recorder = ThreadRecorder()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask { await recorder.record(i) }
            }
        }
        let (threads, count, offThread) = await recorder.snapshot()
        let pinned = try #require(recorder.executor.thread)
        #expect(count == 200)
        #expect(threads == [pinned])
        #expect(offThread == 0)
    }

    @Test("off its thread the executor says no")
    func notHere() async {
        let recorder = ThreadRecorder()
        await recorder.record(0)  // the thread has started
        #expect(!recorder.executor.isCurrentThread)
        #expect(recorder.executor.isIsolatingCurrentContext() == false)
    }

    @Test("checkIsolated passes in the actor, on the executor's thread, and traps off it")
    func checkIsolated() async {
        await #expect(processExitsWith: .success) {
            await ThreadRecorder().checked()
        }
        await #expect(processExitsWith: .failure) {
            let recorder = ThreadRecorder()
            await recorder.record(0)  // the thread has started
            recorder.executor.checkIsolated()
        }
    }

    @Test("calls from one task keep their order")
    func order() async {
        let recorder = ThreadRecorder()
        for i in 0..<100 { await recorder.record(i) }
        #expect(await recorder.order == Array(0..<100))
    }
}

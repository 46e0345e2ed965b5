import Glibc
import PinnedThread
import Testing

/// An actor on a PinnedExecutor, recording which OS thread each call ran on.
actor ThreadRecorder {
    let executor = PinnedExecutor(name: "test-pinned")
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private(set) var threads: Set<UInt> = []
    private(set) var order: [Int] = []

    func record(_ i: Int) {
        threads.insert(UInt(pthread_self()))
        order.append(i)
    }

    func snapshot() -> (threads: Set<UInt>, count: Int) { (threads, order.count) }

    isolated deinit { executor.shutdown() }
}

@Suite("PinnedExecutor")
struct PinnedExecutorTests {
    @Test("every call from many concurrent tasks runs on one and the same thread, never the caller's")
    func oneThread() async throws {
        let recorder = ThreadRecorder()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask { await recorder.record(i) }
            }
        }
        let (threads, count) = await recorder.snapshot()
        #expect(count == 200)
        #expect(threads.count == 1)
        #expect(threads.first != UInt(pthread_self()))
    }

    @Test("calls from one task keep their order")
    func order() async {
        let recorder = ThreadRecorder()
        for i in 0..<100 { await recorder.record(i) }
        #expect(await recorder.order == Array(0..<100))
    }
}

/// A thread of its own for a call that blocks (a console's read): run on the cooperative
/// pool, which has as many threads as cores, it would stall every other task meanwhile.
public actor BlockingThread {
    private let executor: PinnedExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public init(name: String) {
        executor = PinnedExecutor(name: name)
    }

    /// `body`, on this actor's thread.
    public func run<T: Sendable>(_ body: @Sendable () throws -> T) rethrows -> T {
        try body()
    }

    isolated deinit {
        executor.shutdown()
    }
}

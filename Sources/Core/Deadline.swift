import Synchronization

/// A call into a daemon that did not answer in time.
public struct DeadlineExceeded: Error, Sendable, Equatable, CustomStringConvertible {
    public var what: String
    public var limit: Duration
    public var description: String {
        "\(what) did not answer within \(limit.components.seconds) s (is the daemon frozen or stuck?)"
    }
}

/// Runs `body` but gives up after `limit`, even when `body` is stuck in a blocking C call that
/// cannot be cancelled (a frozen libvirtd, a hung daemon socket): the work is left running
/// detached, the caller gets `DeadlineExceeded`. A task group would wait for the stuck child,
/// so this does not use one.
public func withDeadline<T: Sendable>(
    _ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let slot = ResumeOnce<T>()
    return try await withCheckedThrowingContinuation { continuation in
        slot.set(continuation)
        let work = Task {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            slot.take()?.resume(with: result)
        }
        Task {
            // Short steps, so a finished `work` leaves no long sleeper behind.
            let end = ContinuousClock.now.advanced(by: limit)
            while ContinuousClock.now < end, slot.pending {
                try? await Task.sleep(for: min(.milliseconds(50), end - ContinuousClock.now))
            }
            if let c = slot.take() {
                work.cancel()
                c.resume(throwing: DeadlineExceeded(what: what, limit: limit))
            }
        }
    }
}

/// A continuation that whichever side finishes first resumes, exactly once.
private final class ResumeOnce<T: Sendable>: Sendable {
    private let state = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func set(_ c: CheckedContinuation<T, any Error>) { state.withLock { $0 = c } }
    func take() -> CheckedContinuation<T, any Error>? { state.withLock { $0.take() } }
    var pending: Bool { state.withLock { $0 != nil } }
}

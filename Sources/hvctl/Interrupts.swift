import Core
import Dispatch
import FoundationEssentials
import Glibc

/// Runs `body` in a task that SIGINT and SIGTERM cancel instead of killing the process, so
/// work in flight (a running hook unit) is stopped cleanly before hvctl exits — within the
/// hook's stop grace (HookRunner.stopGrace), after which systemd SIGKILLs it. A second
/// signal ends hvctl at once: the run's reaper (RunGuard) then stops what is left.
func cancellingOnInterrupt<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let task = Task { try await body() }
    let sources = [SIGINT, SIGTERM].map { signo -> DispatchSourceSignal in
        signal(signo, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
        source.setEventHandler {
            StandardStream.error.write("hvctl: interrupted; stopping what is running (again to quit at once, leaving it to the run's reaper)\n")
            task.cancel()
            // The next one takes the default action: the process ends there and then.
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }
        source.resume()
        return source
    }
    defer {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
    return try await task.value
}

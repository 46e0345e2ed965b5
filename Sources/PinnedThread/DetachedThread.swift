import Glibc
import SystemPackage

/// An OS thread of its own, for work that blocks in a system call (accept, flock) and so must
/// stay off Swift's cooperative pool, or that needs one thread for its whole life.
public enum DetachedThread {
    /// Runs `body` on a new detached thread named `name` (Linux keeps the first 15 bytes).
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        // The thread takes over this reference: pthread_create hands its routine one pointer.
        let start = Unmanaged.passRetained(ThreadStart(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { raw in
            let start = Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue()
            nameThisThread(start.name)
            start.body()
            return nil
        }, start)
        guard created == 0 else {
            Unmanaged<ThreadStart>.fromOpaque(start).release()
            // As Foundation's Thread: a process that cannot make a thread cannot go on either.
            fatalError("cannot start the thread \(name): \(Errno(rawValue: created))")
        }
        pthread_detach(thread)
    }
}

/// What `ps -T` and debuggers show. Glibc's module lacks pthread_setname_np (a GNU
/// extension), so this writes the name where that function does; a name over 15 bytes would
/// be refused whole, so it is cut.
private func nameThisThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

private final class ThreadStart: Sendable {
    let name: String
    let body: @Sendable () -> Void

    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }
}

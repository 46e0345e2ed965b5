import Core
import FoundationEssentials
import Glibc
import SystemPackage

/// hvctl's host-wide lock (/run/hvctl/lock, or $HVCTL_RUNTIME_DIR/lock), so two commands that
/// change the host never interleave. flock(2): the kernel drops it when the holder dies, so
/// a killed hvctl never leaves the host locked.
public final class HostLock {
    public let path: String
    private var file: LockedFile?

    public static func path(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        RuntimePaths.directory(environment) + "/lock"
    }

    public init(path: String = HostLock.path()) {
        self.path = path
    }

    deinit { release() }

    /// Takes the lock. When another command holds it: with `wait`, says so once through
    /// `waiting` and polls until it is free (cancellable); without, fails at once.
    public func acquire(wait: Bool, waiting: (String) -> Void = { _ in }) async throws {
        // O_NOFOLLOW in a checked directory: nobody else can put a link or a file of theirs
        // where root opens (and creates) the lock.
        try RuntimePaths.prepare(PathName.parent(of: path), purpose: "take hvctl's host lock")
        let file: LockedFile
        do {
            file = try LockedFile.open(path, create: 0o644)
        } catch {
            throw LockError.cannotOpen(path, error.description)
        }
        self.file = file
        var told = false
        while true {
            do {
                if try file.tryLock() { break }
            } catch {
                throw LockError.cannotOpen(path, error.description)
            }
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingSpacesAndNewlines()
            guard wait else { throw LockError.busy(holder: holder) }
            if !told {
                waiting("waiting for another hvctl command\(holder.map { " (\($0))" } ?? "") to finish")
                told = true
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        try? file.replaceContents(with: Array("pid \(getpid())\n".utf8))
    }

    public func release() {
        file?.close()
        file = nil
    }
}

public enum LockError: Error, Equatable, Sendable, CustomStringConvertible {
    case busy(holder: String?)
    case cannotOpen(String, String)

    public var description: String {
        switch self {
        case .busy(let holder):
            return "another hvctl command\(holder.map { " (\($0))" } ?? "") is changing this host; try again when it is done, or drop --no-wait to wait for it"
        case .cannotOpen(let path, let reason):
            return "cannot open hvctl's lock \(path): \(reason)"
        }
    }
}

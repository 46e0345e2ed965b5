import Core
import Systemd
import FoundationEssentials
import Glibc

/// A running command's liveness, visible host-wide: `/run/hvctl/live/RUN.lock`, flock(2)ed
/// by the run for as long as it runs. Units, containers and domains are host-wide, but leases
/// live in each command's own state directory; a cleanup under one HVCTL_STATE_DIR (a second
/// CI job, a test sandbox) asks here before it touches a run it has no lease for.
///
/// The kernel drops the lock when the process dies, so a file that is there but unlocked is a
/// run that is over, however it ended.
public final class LiveLock {
    public let run: String
    private var fd: Int32
    private let path: String

    private init(run: String, fd: Int32, path: String) {
        self.run = run
        self.fd = fd
        self.path = path
    }

    deinit { if fd >= 0 { close(fd) } }

    static var directory: String { RuntimePaths.liveDirectory }

    static func path(_ run: String) -> String { directory + "/\(run).lock" }

    /// Creates and locks `run`'s file: made under a temporary name and locked first, then
    /// linked into place, so no one ever sees it there unlocked while the run is alive.
    public static func take(_ run: String) throws -> LiveLock {
        let dir = try RuntimePaths.prepare(directory, purpose: "record that this run is going")
        let temp = dir + "/.\(run).lock.\(getpid()).tmp"
        unlink(temp)
        let fd = open(temp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw LeaseError.unwritable(temp, String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0, link(temp, dir + "/\(run).lock") == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temp)
            throw LeaseError.unwritable(path(run), reason)
        }
        unlink(temp)
        return LiveLock(run: run, fd: fd, path: dir + "/\(run).lock")
    }

    /// The run is over: the file goes, then the lock.
    public func release() {
        guard fd >= 0 else { return }
        unlink(path)
        close(fd)
        fd = -1
    }

    /// Whether `run` is going somewhere on this host.
    public static func isHeld(_ run: String) -> Bool {
        let fd = open(path(run), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 { return false }
        return errno == EWOULDBLOCK
    }

    /// Whether any run but those in `except` is going on this host.
    public static func anyHeld(except: Set<String> = []) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.contains {
            let run = String($0.dropLast(5))
            return $0.hasSuffix(".lock") && !$0.hasPrefix(".") && !except.contains(run) && isHeld(run)
        }
    }

    /// Files of runs that are over (a killed run cannot remove its own), and temp files of a
    /// take that was interrupted; removed by `hvctl cleanup`.
    static func stale() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var out: [String] = []
        for name in names {
            if name.hasPrefix("."), name.hasSuffix(".tmp"),
                let pid = name.split(separator: ".").dropLast().last.flatMap({ Int32($0) }), kill(pid, 0) != 0 && errno != EPERM
            {
                out.append(directory + "/" + name)
            } else if name.hasSuffix(".lock"), !name.hasPrefix("."), RunID(String(name.dropLast(5))) != nil, !isHeld(String(name.dropLast(5))) {
                out.append(directory + "/" + name)
            }
        }
        return out
    }
}

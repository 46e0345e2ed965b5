import Core
import Systemd
import FoundationEssentials
import Glibc
import SystemPackage

/// A running command's liveness, visible host-wide: `/run/hvctl/live/RUN.lock`, flock(2)ed
/// by the run for as long as it runs. Units, containers and domains are host-wide, but leases
/// live in each command's own state directory; a cleanup under one HVCTL_STATE_DIR (a second
/// CI job, a test sandbox) asks here before it touches a run it has no lease for.
///
/// The kernel drops the lock when the process dies, so a file that is there but unlocked is a
/// run that is over, however it ended.
public final class LiveLock {
    public let run: String
    /// Opened under a temporary name, held under this one.
    private let file: LockedFile
    private let path: String

    private init(run: String, file: LockedFile, path: String) {
        self.run = run
        self.file = file
        self.path = path
    }

    static var directory: String { RuntimePaths.liveDirectory }

    static func path(_ run: String) -> String { directory + "/\(run).lock" }

    /// Creates and locks `run`'s file: made under a temporary name and locked first, then
    /// linked into place, so no one ever sees it there unlocked while the run is alive.
    public static func take(_ run: String) throws -> LiveLock {
        let dir = try RuntimePaths.prepare(directory, purpose: "record that this run is going")
        let temp = dir + "/.\(run).lock.\(getpid()).tmp"
        unlink(temp)
        let file: LockedFile
        do {
            file = try LockedFile.open(temp, create: 0o644, exclusive: true)
        } catch {
            throw LeaseError.unwritable(temp, error.description)
        }
        guard (try? file.tryLock()) == true, link(temp, dir + "/\(run).lock") == 0 else {
            let reason = Errno.current.description
            file.close()
            unlink(temp)
            throw LeaseError.unwritable(path(run), reason)
        }
        unlink(temp)
        return LiveLock(run: run, file: file, path: dir + "/\(run).lock")
    }

    /// The run is over: the file goes, then the lock.
    public func release() {
        guard file.isOpen else { return }
        unlink(path)
        file.close()
    }

    /// Whether `run` is going somewhere on this host.
    public static func isHeld(_ run: String) -> Bool {
        guard let file = try? LockedFile.open(path(run), writable: false) else { return false }
        defer { file.close() }
        // Free (we got it), or an error other than "held": not going.
        return (try? file.tryLock(shared: true)) == false
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

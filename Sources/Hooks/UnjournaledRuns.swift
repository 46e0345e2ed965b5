import Core
import FoundationEssentials
import Glibc

/// Runs whose start marker journald did not take (it was not running): a file per run in
/// one host-wide directory, so `hvctl logs` never presents an older run as the latest one
/// while a newer run's output went unrecorded.
public enum UnjournaledRuns {
    static let directory = RuntimePaths.defaultDirectory + "/unjournaled"

    /// Notes `run`; a failure to note it is not worth failing the run for.
    public static func record(_ run: String) {
        guard let dir = try? RuntimePaths.prepare(directory, purpose: "note a run journald missed") else { return }
        let fd = open(dir + "/" + run, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        if fd >= 0 { close(fd) }
    }

    /// The newest such run and when it was noted.
    public static func newest() -> (run: String, noted: Date)? {
        var best: (String, Date)?
        for name in (try? DirectoryListing.names(of: directory)) ?? [] where !name.hasPrefix(".") {
            var st = stat()
            guard lstat(directory + "/" + name, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
            let noted = Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec) + TimeInterval(st.st_mtim.tv_nsec) / 1e9)
            if best.map({ noted > $0.1 }) ?? true { best = (name, noted) }
        }
        return best
    }
}

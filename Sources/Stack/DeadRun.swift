import Core
import Glibc

/// The lease of a run that died unfinished, locked by whoever found it, so two reapers never
/// work on the same run. `release(reaped:)` removes the lease once its resources are gone.
public final class DeadRun {
    public let info: RunLease.Info
    let file: LockedFile

    init(info: RunLease.Info, file: LockedFile) {
        self.info = info
        self.file = file
    }

    /// `reaped`: nothing of the run is left, so its lease goes; else it stays for the next try.
    public func release(reaped: Bool) {
        guard file.isOpen else { return }
        if reaped { unlink(file.path) }
        file.close()
    }
}

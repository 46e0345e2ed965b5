import Glibc

/// The lease of a run that died unfinished, locked by whoever found it, so two reapers never
/// work on the same run. `release(reaped:)` removes the lease once its resources are gone.
public final class DeadRun {
    public let info: RunLease.Info
    let path: String
    private var fd: Int32

    init(info: RunLease.Info, path: String, fd: Int32) {
        self.info = info
        self.path = path
        self.fd = fd
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// `reaped`: nothing of the run is left, so its lease goes; else it stays for the next try.
    public func release(reaped: Bool) {
        guard fd >= 0 else { return }
        if reaped { unlink(path) }
        close(fd)
        fd = -1
    }
}

import Glibc
import PinnedThread
import SystemPackage

/// An open file used as a lock with flock(2): the kernel drops the lock when the holder
/// dies, so a killed hvctl never leaves anything locked. hvctl's host lock, run leases,
/// liveness files and the state's lock are each one of these.
///
/// The descriptor is this object's alone and closed once: by `close()`, or by deinit when
/// the owner forgets (a crash of the owner's logic, not of the process, which the kernel
/// handles anyway).
public final class LockedFile {
    public let path: String
    private var descriptor: FileDescriptor?

    private init(path: String, descriptor: FileDescriptor) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { try? descriptor?.close() }

    /// open(2), never following a symlink at `path`, closed on exec. `create`: with this
    /// mode when missing; `exclusive`: only if missing (O_EXCL).
    public static func open(_ path: String, create mode: mode_t? = nil, exclusive: Bool = false, writable: Bool = true) throws(Errno) -> LockedFile {
        var options: FileDescriptor.OpenOptions = [.closeOnExec, .noFollow]
        if mode != nil { options.insert(.create) }
        if exclusive { options.insert(.exclusiveCreate) }
        do {
            let fd = try FileDescriptor.open(
                FilePath(path), writable ? .readWrite : .readOnly, options: options, permissions: mode.map { FilePermissions(rawValue: $0) })
            return LockedFile(path: path, descriptor: fd)
        } catch let error as Errno {
            throw error
        } catch {
            throw Errno.ioError
        }
    }

    /// flock(2) LOCK_EX (or LOCK_SH) | LOCK_NB: false when another holds it.
    public func tryLock(shared: Bool = false) throws(Errno) -> Bool {
        let fd = try rawValue()
        if flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 { return true }
        let error = Errno(rawValue: errno)
        guard error == .wouldBlock else { throw error }
        return false
    }

    /// flock(2) LOCK_EX, waiting (on the calling thread: call it off the cooperative pool).
    public func lock() throws(Errno) {
        let fd = try rawValue()
        while flock(fd, LOCK_EX) != 0 {
            let error = Errno(rawValue: errno)
            guard error == .interrupted else { throw error }
        }
    }

    /// flock(2) LOCK_EX, waited for on a thread of its own: the cooperative pool must not
    /// block. The descriptor stays this object's; the caller holds it across the wait.
    public func lockWaiting() async throws(Errno) {
        let fd = try rawValue()
        let result = await withCheckedContinuation { (done: CheckedContinuation<Errno?, Never>) in
            DetachedThread.start(name: "hvctl-flock") {
                while flock(fd, LOCK_EX) != 0 {
                    let error = Errno(rawValue: errno)
                    if error != .interrupted { return done.resume(returning: error) }
                }
                done.resume(returning: nil)
            }
        }
        if let result { throw result }
    }

    /// ftruncate(2) to nothing, then write(2) `bytes`: the holder's note ("pid 42").
    public func replaceContents(with bytes: some Collection<UInt8>) throws(Errno) {
        guard let descriptor else { throw Errno.badFileDescriptor }
        do {
            try descriptor.resize(to: 0)
            _ = try descriptor.writeAll(toAbsoluteOffset: 0, Array(bytes))
        } catch let error as Errno {
            throw error
        } catch {
            throw Errno.ioError
        }
    }

    /// pread(2) from the start, at most `limit` bytes.
    public func contents(limit: Int = 65536) -> [UInt8] {
        guard let descriptor else { return [] }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while out.count <= limit {
            let n = (try? buffer.withUnsafeMutableBytes { try descriptor.read(fromAbsoluteOffset: Int64(out.count), into: $0) }) ?? 0
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }

    /// Whether `path` still names the file held (by device and inode: on NFS an unlinked
    /// open file lives on under another name with a link count of 1).
    public var isStillNamed: Bool {
        guard let fd = try? rawValue() else { return false }
        var held = stat()
        var named = stat()
        guard fstat(fd, &held) == 0, stat(path, &named) == 0 else { return false }
        return held.st_dev == named.st_dev && held.st_ino == named.st_ino
    }

    /// close(2): the lock goes with the descriptor. Once; later calls do nothing.
    public func close() {
        try? descriptor?.close()
        descriptor = nil
    }

    public var isOpen: Bool { descriptor != nil }

    private func rawValue() throws(Errno) -> Int32 {
        guard let descriptor else { throw Errno.badFileDescriptor }
        return descriptor.rawValue
    }
}

extension Errno {
    /// errno as the last failed call left it.
    public static var current: Errno { Errno(rawValue: errno) }
}

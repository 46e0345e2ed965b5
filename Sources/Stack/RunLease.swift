import Foundation
import Glibc
import Hypervisors
import Systemd

/// The lease of one hvctl command that creates resources: `<state dir>/runs/<run>.lease`,
/// flock(2)-locked by that command for as long as it runs.
///
/// The kernel drops the lock when the process dies, however it dies (SIGKILL included), so a
/// lease file that exists and is not locked is exactly "a run that died unfinished". A run
/// that ends — successfully, failed or interrupted — removes its file before it lets go of
/// the lock, so its resources belong to the user from then on. The files live in the state
/// directory, not under /run, so a run lost with its machine is still found after a reboot.
public final class RunLease {
    /// What the lease file says about its run, for the reaper and for messages.
    public struct Info: Sendable, Codable, Equatable {
        public var run: String
        public var pid: Int32
        public var command: String
        public var started: Date
        /// Where the run's resources live, so a reaper reaches the same daemons.
        public var dockerSocket: String
        public var libvirtURI: String

        public init(run: String, pid: Int32, command: String, started: Date, dockerSocket: String, libvirtURI: String) {
            self.run = run
            self.pid = pid
            self.command = command
            self.started = started
            self.dockerSocket = dockerSocket
            self.libvirtURI = libvirtURI
        }
    }

    public let info: Info
    public let path: String
    private var fd: Int32

    private init(info: Info, path: String, fd: Int32) {
        self.info = info
        self.path = path
        self.fd = fd
    }

    /// Closing without `finish()` (a lease left by a crash of this very process) leaves the
    /// file, which is what marks the run dead.
    deinit {
        if fd >= 0 { close(fd) }
    }

    public static func directory(_ store: StateStore) -> String { store.directory + "/runs" }

    static func path(_ run: String, _ store: StateStore) -> String { directory(store) + "/\(run).lease" }

    /// Creates and locks the lease of `info.run`.
    public static func take(_ info: Info, store: StateStore) throws -> RunLease {
        let dir = directory(store)
        do {
            try AtomicFile.makeDirectory(dir)
        } catch let error as AtomicFileError {
            throw LeaseError.unwritable(error.path, error.reason)
        }
        let path = path(info.run, store)
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LeaseError.unwritable(path, String(cString: strerror(errno))) }
        // Nobody else can know the file yet, so this never blocks.
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(path)
            throw LeaseError.unwritable(path, reason)
        }
        // The content is only informative: a reader that finds it short still knows the run
        // from the file name, so a crash in the middle of this write loses nothing.
        if let data = try? Self.encoder.encode(info) {
            data.withUnsafeBytes { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
        }
        return RunLease(info: info, path: path, fd: fd)
    }

    /// The run ended: remove the file, then release the lock.
    public func finish() {
        guard fd >= 0 else { return }
        unlink(path)
        close(fd)
        fd = -1
    }

    // MARK: looking at other runs' leases

    /// Every lease in the state directory: runs still going (locked by a live process) and
    /// runs that died unfinished, each of the latter now locked by the caller.
    public static func scan(_ store: StateStore) -> (live: [Info], dead: [DeadRun]) {
        let dir = directory(store)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return ([], []) }
        var live: [Info] = []
        var dead: [DeadRun] = []
        for name in names.sorted() where name.hasSuffix(".lease") {
            let run = String(name.dropLast(6))
            switch claim(dir + "/" + name, run: run) {
            case .live(let info): live.append(info)
            case .dead(let d): dead.append(d)
            case .gone: continue
            }
        }
        return (live, dead)
    }

    /// The runs still going.
    public static func liveRuns(_ store: StateStore) -> Set<String> {
        Set(scan(store).live.map(\.run))
    }

    /// Waits until `run` ends or dies (its lock is released). nil: it ended normally, or
    /// `owner` died before it took the lease (so it made nothing); else the dead run, locked
    /// by the caller. The reaper unit starts before its run takes the lease, so no moment of
    /// the run goes unwatched: until the lease appears, the owner's life is watched.
    public static func awaitEnd(of run: String, owner: ProcessIdentity, store: StateStore) async -> DeadRun? {
        let path = path(run, store)
        var fd = open(path, O_RDWR | O_CLOEXEC)
        while fd < 0 {
            guard owner.isAlive else { return nil }
            try? await Task.sleep(for: .milliseconds(10))
            fd = open(path, O_RDWR | O_CLOEXEC)
        }
        return await lockWhenFree(fd, path: path, run: run)
    }

    private static func lockWhenFree(_ fd: Int32, path: String, run: String) async -> DeadRun? {
        // A blocking flock on a thread of its own: the cooperative pool must not block.
        let locked = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            Thread.detachNewThread {
                var r: Int32
                repeat { r = flock(fd, LOCK_EX) } while r != 0 && errno == EINTR
                done.resume(returning: r == 0)
            }
        }
        guard locked, !isUnlinked(fd) else {
            close(fd)
            return nil
        }
        return DeadRun(info: readInfo(fd, run: run), path: path, fd: fd)
    }

    enum Claim {
        case live(Info)
        case dead(DeadRun)
        case gone
    }

    static func claim(_ path: String, run: String) -> Claim {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return .gone }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let info = readInfo(fd, run: run)
            close(fd)
            return .live(info)
        }
        // Removed between our open and our lock: that run just ended normally.
        if isUnlinked(fd) {
            close(fd)
            return .gone
        }
        return .dead(DeadRun(info: readInfo(fd, run: run), path: path, fd: fd))
    }

    private static func isUnlinked(_ fd: Int32) -> Bool {
        var st = stat()
        return fstat(fd, &st) != 0 || st.st_nlink == 0
    }

    /// The lease's content, or what the file name alone tells when it is short or garbled.
    static func readInfo(_ fd: Int32, run: String) -> Info {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var offset: off_t = 0
        while true {
            let n = pread(fd, &buffer, buffer.count, offset)
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
            offset += off_t(n)
            if data.count > 65536 { break }
        }
        if let info = try? decoder.decode(Info.self, from: data), info.run == run { return info }
        let defaults = DriverSettings()
        return Info(run: run, pid: 0, command: "?", started: Date(timeIntervalSince1970: 0), dockerSocket: defaults.dockerSocket, libvirtURI: defaults.libvirtURI)
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()
}

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

public enum LeaseError: Error, Equatable, Sendable, CustomStringConvertible {
    case unwritable(String, String)

    public var description: String {
        switch self {
        case .unwritable(let path, let reason): return "cannot write the run lease \(path): \(reason)"
        }
    }
}

import Core
import FoundationEssentials
import Glibc
import Hypervisors
import PinnedThread
import Systemd
import SystemPackage

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
        /// Where the run's resources live, by driver (its `endpoint`), so a reaper reaches
        /// the same daemons.
        public var endpoints: [String: String]
        /// The drivers the run works on: while one of their daemons cannot be reached, the
        /// run's lease stays, so a later reaper gets to what it left there.
        public var drivers: [String]?

        public init(run: String, pid: Int32, command: String, started: Date, endpoints: [String: String], drivers: [String]) {
            self.run = run
            self.pid = pid
            self.command = command
            self.started = started
            self.endpoints = endpoints
            self.drivers = drivers
        }
    }

    public let info: Info
    public let path: String
    /// Closing it without `finish()` (a lease left by a crash of this very process) leaves
    /// the file, which is what marks the run dead.
    private let file: LockedFile
    /// The same run's host-wide liveness, for hvctl commands using other state directories.
    private let live: LiveLock

    private init(info: Info, path: String, file: LockedFile, live: LiveLock) {
        self.info = info
        self.path = path
        self.file = file
        self.live = live
    }

    public static func directory(_ store: StateStore) -> String { store.directory + "/runs" }

    static func path(_ run: String, _ store: StateStore) -> String { directory(store) + "/\(run).lease" }

    /// Creates and locks the lease of `info.run`.
    public static func take(_ info: Info, store: StateStore) throws -> RunLease {
        let dir = directory(store)
        try store.checkTrusted()
        do {
            try AtomicFile.makeDirectory(dir)
        } catch let error as AtomicFileError {
            throw LeaseError.unwritable(error.path, error.reason)
        }
        try PathTrust(.invoking, purpose: "keep run leases").verify(dir, as: .directory)
        let live = try LiveLock.take(info.run)
        let path = path(info.run, store)
        // Made under a temporary name, locked and written, then renamed into place: a lease
        // is never seen unlocked or empty while its run is alive.
        let temp = dir + "/.\(info.run).lease.\(getpid()).tmp"
        let file: LockedFile
        do {
            file = try LockedFile.open(temp, create: 0o644, exclusive: true)
        } catch {
            live.release()
            throw LeaseError.unwritable(temp, error.description)
        }
        func fail(_ what: String, _ error: Errno) -> LeaseError {
            file.close()
            unlink(temp)
            live.release()
            return LeaseError.unwritable(path, "\(what): \(error)")
        }
        do {
            guard try file.tryLock() else { throw fail("flock", .wouldBlock) }
        } catch let error as Errno {
            throw fail("flock", error)
        }
        if let data = try? Self.encoder.encode(info) { try? file.replaceContents(with: data) }
        guard link(temp, path) == 0 else { throw fail("cannot take the name (is run \(info.run) already going?)", .current) }
        unlink(temp)
        return RunLease(info: info, path: path, file: file, live: live)
    }

    /// The run ended: remove the file, then release the lock.
    public func finish() {
        guard file.isOpen else { return }
        unlink(path)
        file.close()
        live.release()
    }

    // MARK: looking at other runs' leases

    /// Every lease in the state directory: runs still going (locked by a live process) and
    /// runs that died unfinished, each of the latter now locked by the caller.
    /// A lease file that breaks the trust rule (not a regular file, owned by someone else,
    /// writable by group or others) is in `unsafe` and left alone: nothing it says is used.
    /// A state directory that breaks the trust rule is an error: none of its leases is read.
    /// `reaping`: runs that died and that another hvctl (a reaper, a second cleanup) holds
    /// right now; they are not going, and not this caller's to settle.
    public static func scan(_ store: StateStore) throws -> (live: [Info], dead: [DeadRun], reaping: [Info], unsafe: [String]) {
        let dir = directory(store)
        try store.checkTrusted()
        var info = stat()
        guard lstat(dir, &info) == 0 else { return ([], [], [], []) }
        try PathTrust(.invoking, purpose: "read run leases").verify(dir, as: .directory)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return ([], [], [], []) }
        var live: [Info] = []
        var dead: [DeadRun] = []
        var reaping: [Info] = []
        var unsafe: [String] = []
        let policy = TrustPolicy.invoking
        for name in names.sorted() where name.hasSuffix(".lease") && !name.hasPrefix(".") {
            let run = String(name.dropLast(6))
            var st = stat()
            guard lstat(dir + "/" + name, &st) == 0 else { continue }
            guard RunID(run) != nil, st.st_mode & S_IFMT == S_IFREG, policy.trusts(st.st_uid), st.st_mode & 0o022 == 0 else {
                unsafe.append(dir + "/" + name)
                continue
            }
            switch claim(dir + "/" + name, run: run) {
            case .live(let info): live.append(info)
            case .dead(let d): dead.append(d)
            case .reaping(let info): reaping.append(info)
            case .gone: continue
            }
        }
        return (live, dead, reaping, unsafe)
    }

    /// A run is going as long as its lease exists and is not one of `dead` (leases the caller
    /// found unlocked and holds). Asked at the moment a resource is looked at, so a run that
    /// began after a cleanup listed the leases is still recognised: a run takes its lease
    /// before it creates anything.
    /// `excluding`: the caller's own run, whose leftovers it may clean (hvctl clean).
    public static func cleanupScope(
        _ store: StateStore, dead: [DeadRun] = [], reaping: [Info] = [], excluding own: String? = nil
    ) -> CleanupScope {
        let notLive = Set(dead.map(\.info.run) + reaping.map(\.run) + (own.map { [$0] } ?? []))
        let dir = directory(store)
        return .everything(
            isLive: { run in
                !notLive.contains(run) && (access(dir + "/\(run).lease", F_OK) == 0 || LiveLock.isHeld(run))
            },
            anyLive: {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
                return names.contains { $0.hasSuffix(".lease") && !$0.hasPrefix(".") && !notLive.contains(String($0.dropLast(6))) }
                    || LiveLock.anyHeld(except: notLive)
            })
    }

    /// Waits until `run` ends or dies (its lock is released). nil: it ended normally, or
    /// `owner` died before it took the lease (so it made nothing); else the dead run, locked
    /// by the caller. The reaper unit starts before its run takes the lease, so no moment of
    /// the run goes unwatched: until the lease appears, the owner's life is watched.
    public static func awaitEnd(of run: String, owner: ProcessIdentity, store: StateStore) async -> DeadRun? {
        let path = path(run, store)
        var file = try? LockedFile.open(path)
        while file == nil {
            if !owner.isAlive {
                // It may have taken the lease just before dying: one last look.
                file = try? LockedFile.open(path)
                break
            }
            try? await Task.sleep(for: .milliseconds(10))
            file = try? LockedFile.open(path)
        }
        guard let file else { return nil }
        return await lockWhenFree(file, run: run)
    }

    private static func lockWhenFree(_ file: LockedFile, run: String) async -> DeadRun? {
        guard (try? await file.lockWaiting()) != nil, file.isStillNamed else {
            file.close()
            return nil
        }
        return DeadRun(info: readInfo(file, run: run), file: file)
    }

    enum Claim {
        case live(Info)
        case dead(DeadRun)
        /// Locked, but not by its run: the run's liveness lock is free, so another hvctl is
        /// reaping it.
        case reaping(Info)
        case gone
    }

    static func claim(_ path: String, run: String) -> Claim {
        guard let file = try? LockedFile.open(path) else { return .gone }
        guard (try? file.tryLock()) == true else {
            let info = readInfo(file, run: run)
            file.close()
            // A run holds its liveness lock from before it takes the lease until after it
            // lets it go; without it, whoever holds the lease is settling a dead run.
            return LiveLock.isHeld(run) ? .live(info) : .reaping(info)
        }
        // Removed between our open and our lock (compared by device and inode): that run
        // just ended normally.
        guard file.isStillNamed else {
            file.close()
            return .gone
        }
        return .dead(DeadRun(info: readInfo(file, run: run), file: file))
    }

    /// The lease's content, or what the file name alone tells when it is short or garbled.
    static func readInfo(_ file: LockedFile, run: String) -> Info {
        let data = Data(file.contents())
        if let info = try? decoder.decode(Info.self, from: data), info.run == run { return info }
        // Garbled, or from an hvctl before leases had `endpoints`: the run id from the name
        // and the default endpoints, the only ones it could name without being configured.
        return Info(
            run: run, pid: 0, command: "?", started: Date(timeIntervalSince1970: 0), endpoints: Drivers.endpoints(DriverSettings()),
            drivers: Drivers.names)
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

import Core
import Dispatch
import FoundationEssentials
import Glibc
import Hooks
import PinnedThread
import Synchronization
import Systemd
import SystemPackage

/// inc/async's jobs as units: the flow's hvctl listens on `jobs.sock` in the run's shell
/// directory, and DevStack's async_run / async_wait (hvctl's versions, defined in the settings
/// step) ask it, through `hvctl job`, to start a job as `hvctl-RUN-job-NAME.service` or to
/// wait for one. A job outlives the call and the phase that started it, and is waited for by
/// name from a later one; one never waited for is stopped when the flow ends.
///
/// Who may ask: the directory is the hooks' user's, mode 0700, so only that user and root can
/// reach the socket; a job always runs as the hooks' user (a --user hook never starts a root
/// job), from a state file in that directory.
public final class JobServer: Sendable {
    public let path: String
    private let listener: Int32
    private let table: JobTable

    /// Before the shell directory is handed to `user`.
    public static func start(in shell: ShellState, user: String?, runner: HookRunner) throws -> JobServer {
        let path = shell.directory + "/jobs.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw JobError.socket(path, Errno.current.description) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard JobSocket.fill(&address, path) else {
            Glibc.close(fd)
            throw JobError.socket(path, "the path is too long for a socket")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let reason = Errno.current.description
            Glibc.close(fd)
            throw JobError.socket(path, reason)
        }
        // The directory is still root's alone (ShellState.hand(to:) comes after), so nobody can
        // have swapped the socket for a link before these follow its path.
        if let user, let entry = getpwnam(user) { chown(path, entry.pointee.pw_uid, entry.pointee.pw_gid) }
        chmod(path, 0o600)
        let server = JobServer(path: path, listener: fd, table: JobTable(directory: shell.directory, runner: runner))
        DetachedThread.start(name: "hvctl-jobs") { [server] in server.accepting() }
        return server
    }

    /// Signalled when the accept loop has ended and closed the listener.
    private let stopped = DispatchSemaphore(value: 0)
    private let closing = Mutex(false)

    private init(path: String, listener: Int32, table: JobTable) {
        self.path = path
        self.listener = listener
        self.table = table
    }

    /// The accept loop, on a thread of its own (accept blocks). Each request is read here,
    /// bounded by a receive timeout, and answered from a task: a wait lasts as long as its job.
    private func accepting() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                break  // shut down
            }
            // (A child forked in between inherits it; the client reads one line, not to EOF,
            // so such a leak cannot hold it.)
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            // A request is one short line: a client that drips it holds the loop 2 s at most.
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let data = JobSocket.readAll(connection, limit: 1 << 20, deadline: .now + .seconds(2))
            let table = self.table
            Task {
                let response: JobResponse
                if let request = try? JSONDecoder().decode(JobRequest.self, from: data) {
                    response = await table.handle(request)
                } else {
                    response = JobResponse(error: "not a job request")
                }
                var answer = (try? JSONEncoder().encode(response)) ?? Data()
                answer.append(10)
                _ = JobSocket.writeAll(connection, answer)
                Glibc.close(connection)
            }
        }
        Glibc.close(listener)
        stopped.signal()
    }

    /// Ends the server: no new requests (the accept loop has ended when this returns, and a
    /// start that was already on its way is refused); jobs nobody waited for are stopped
    /// (DevStack only warns about them) and named in the result.
    public func finish() async -> [String] {
        await table.close()
        close()
        return await table.stopUnwaited()
    }

    /// The socket closed and the accept loop ended; jobs are left to their units' limits.
    /// Idempotent.
    func close() {
        guard closing.withLock({ done in defer { done = true }; return !done }) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        stopped.wait()
        unlink(path)
    }
}

/// The jobs of one flow, by name, in the order they started.
actor JobTable {
    struct Job {
        var unit: String
        var task: Task<JobResponse.Finished, Never>
    }

    let directory: String
    let runner: HookRunner
    private var jobs: [String: Job] = [:]
    /// DevStack's own stack.sh runs a dozen at once.
    static let limit = 32
    private var order: [String] = []
    /// Jobs an async_wait is waiting for right now: waited for, whatever happens next.
    private var waiting: Set<String> = []
    private var closed = false

    init(directory: String, runner: HookRunner) {
        self.directory = directory
        self.runner = runner
    }

    func handle(_ request: JobRequest) async -> JobResponse {
        switch request.operation {
        case .start: return start(request)
        case .wait: return await wait(request.names)
        case .waitAll: return await wait(order)
        }
    }

    func close() { closed = true }

    private func start(_ request: JobRequest) -> JobResponse {
        guard !closed else { return JobResponse(error: "the run is ending; no new jobs") }
        guard let name = request.names.first, request.names.count == 1, DevStackPlugin.isValidName(name) else {
            return JobResponse(error: "a job's name must be letters, digits, '.', '_' or '-'")
        }
        guard jobs[name] == nil else { return JobResponse(error: "job \(name) is running already; wait for it first") }
        // Each job holds a bus connection and a thread of hvctl's while it runs.
        guard jobs.count < Self.limit else {
            return JobResponse(error: "job \(name): \(Self.limit) jobs are running already in this run; wait for some first")
        }
        guard let command = request.command, !command.isEmpty else { return JobResponse(error: "job \(name) has no command") }
        guard let state = request.state, PathName.parent(of: state) == directory, ShellState.isComplete(state) else {
            return JobResponse(error: "job \(name): its caller's shell state must be a complete state file in \(directory)")
        }
        let service: TransientService
        do {
            service = try HookRunner.jobService(name: name, command: command, state: state, runner.options)
        } catch {
            return JobResponse(error: "\(error)")
        }
        let waitLimit = runner.options.timeout + .seconds(60)
        let task = Task { () -> JobResponse.Finished in
            let clock = ContinuousClock()
            let began = clock.now
            var finished = JobResponse.Finished(name: name, unit: service.name, result: "failed", exitStatus: 1, seconds: 0)
            do {
                // A connection of its own: a job's wait must not hold up the hooks' units.
                let manager = try await SystemdManager.connect()
                let result = try await manager.run(service, waitLimit: waitLimit)
                finished.result = result.result
                finished.exitStatus = result.exitStatus
            } catch {
                finished.lastLines = ["hvctl could not run the job: \(error)"]
            }
            finished.seconds = (clock.now - began).inSeconds
            if finished.result != "success", finished.lastLines == nil {
                finished.lastLines = try? await HookLog.lastLines(of: service.name, count: 20)
            }
            unlink(state)  // the caller's state at the call: passwords included
            return finished
        }
        jobs[name] = Job(unit: service.name, task: task)
        order.append(name)
        return JobResponse(unit: service.name)
    }

    /// In order, stopping at the first that failed, as inc/async's async_wait does.
    private func wait(_ names: [String]) async -> JobResponse {
        var response = JobResponse()
        for name in names {
            guard let job = jobs[name] else {
                response.unknown.append(name)
                continue
            }
            waiting.insert(name)
            let finished = await job.task.value
            waiting.remove(name)
            jobs[name] = nil
            order.removeAll { $0 == name }
            response.finished.append(finished)
            if finished.result != "success" { break }
        }
        return response
    }

    /// All at once (each stop takes up to the stop grace), then waited for.
    func stopUnwaited() async -> [String] {
        let names = order.filter { !waiting.contains($0) }
        let tasks = order.compactMap { jobs[$0]?.task }
        // SystemdManager.run stops the unit when its wait is cancelled.
        for task in tasks { task.cancel() }
        for task in tasks { _ = await task.value }
        jobs = [:]
        order = []
        return names
    }
}

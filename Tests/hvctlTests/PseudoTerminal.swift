import Foundation

/// A program run on a pseudo-terminal, as a user at a terminal runs it: the test types into
/// `master` and reads what the program shows.
final class PseudoTerminal {
    let master: Int32
    let pid: pid_t
    private var seen: [UInt8] = []

    init(_ arguments: [String], environment: [String: String]) throws {
        var m: Int32 = -1, s: Int32 = -1
        guard openpty(&m, &s, nil, nil, nil) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        master = m
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_adddup2(&actions, s, fd) }
        posix_spawn_file_actions_addclose(&actions, m)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var child = pid_t()
        let r = posix_spawn(&child, arguments[0], &actions, nil, argv, envp)
        close(s)
        guard r == 0 else { throw POSIXError(.init(rawValue: r) ?? .EIO) }
        pid = child
    }

    func type(_ text: String) { type(Array(text.utf8)) }
    func type(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { write(master, $0.baseAddress, $0.count) } }

    /// Reads until `text` has been shown or `timeout` passed; whether it was.
    func waitFor(_ text: String, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if String(decoding: seen, as: UTF8.self).contains(text) { return true }
            var fd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&fd, 1, 100) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            seen += buffer[0..<n]
        }
        return String(decoding: seen, as: UTF8.self).contains(text)
    }

    var shown: String { String(decoding: seen, as: UTF8.self) }

    /// The exit status, waiting at most `timeout` (then the program is killed: nil).
    func exitStatus(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var status: Int32 = 0
        while ContinuousClock.now < deadline {
            _ = waitFor("\u{0}never", timeout: .milliseconds(50))  // drain output, so the program never blocks writing
            if waitpid(pid, &status, WNOHANG) == pid { return (status >> 8) & 0xff }
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        return nil
    }

    deinit { close(master) }
}

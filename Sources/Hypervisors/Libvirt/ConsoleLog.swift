import FoundationEssentials
import Glibc

/// A guest's serial console as virtlogd writes it (the `<log file>` of its serial port): a
/// file in hvctl's guest directory named by the domain's UUID, so it belongs to the instance
/// on record and goes with it.
struct ConsoleLog: Sendable {
    var path: String

    init(directory: String, uuid: String) {
        path = "\(directory)/\(uuid).log"
    }

    /// At most the last `limit` bytes: a guest can write without end.
    func read(limit: Int = 4 << 20) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return "" }
        let start = max(0, Int(st.st_size) - limit)
        return String(decoding: Self.read(fd, from: start, upTo: Int(st.st_size)), as: UTF8.self)
    }

    /// The last `n` lines (all with nil). By bytes: a serial console ends its lines with
    /// "\r\n", which Swift counts as one Character, not a "\n".
    func lines(last n: Int?) -> String {
        let text = read()
        guard let n else { return text }
        var lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines.suffix(n).map { String(decoding: $0, as: UTF8.self) + "\n" }.joined()
    }

    /// Hands on what is written after `offset` as it comes, polling, until `stillRunning`
    /// says no (what came last is still handed on) or the task is cancelled. A log that
    /// shrank (a new boot, or virtlogd rotated it) is read from its start.
    func follow(from offset: Int, stillRunning: @Sendable () async -> Bool, emit: @Sendable (String) -> Void) async throws {
        var position = offset
        var running = true
        while true {
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            if fd >= 0 {
                var st = stat()
                if fstat(fd, &st) == 0 {
                    let size = Int(st.st_size)
                    if size < position { position = 0 }
                    if size > position {
                        emit(String(decoding: Self.read(fd, from: position, upTo: size), as: UTF8.self))
                        position = size
                    }
                }
                close(fd)
            }
            guard running else { return }
            try await Task.sleep(for: .milliseconds(250))
            running = await stillRunning()
        }
    }

    var size: Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : 0
    }

    func remove() {
        unlink(path)
    }

    private static func read(_ fd: Int32, from start: Int, upTo end: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(0, end - start))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(start + done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            done += n
        }
        return Array(bytes.prefix(done))
    }
}

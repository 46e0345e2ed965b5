import Core
import Glibc
import PinnedThread
import Synchronization

/// The user's side of `hvctl instance console`: where keystrokes come from, where the
/// guest's output goes, and the byte that detaches (Ctrl-], as virsh console and telnet).
public struct ConsoleTerminal: Sendable {
    public var input: Int32
    public var output: Int32
    public var escape: UInt8

    public static let defaultEscape: UInt8 = 0x1d

    public init(input: Int32 = 0, output: Int32 = 1, escape: UInt8 = defaultEscape) {
        (self.input, self.output, self.escape) = (input, output, escape)
    }

    /// Why a console session ended.
    public enum End: Sendable, Equatable {
        /// The user typed the escape byte.
        case detached
        /// The guest's side closed (it stopped, or another session took the console).
        case closed
        /// The terminal's input ended (stdin closed).
        case inputEnded
    }

    /// Pumps bytes both ways until one side ends: `receive` blocks for the guest's next bytes
    /// (nil: closed) on a thread of its own, `send` hands it the user's; `interrupt` unblocks
    /// `receive` when the user leaves first.
    public func pump(
        receive: @escaping @Sendable () -> [UInt8]?, send: @escaping @Sendable ([UInt8]) -> Bool, interrupt: @escaping @Sendable () -> Void
    ) async -> End {
        let done = Flag()
        let output = self.output, input = self.input, escape = self.escape
        let reader = BlockingThread(name: "hvctl-console-out")
        let writer = BlockingThread(name: "hvctl-console-in")
        // A task of its own, not `async let`: a daemon that stops answering leaves it blocked,
        // and the user who detached must get the terminal back all the same.
        let fromGuest = Task { await reader.run {
            while !done.isSet {
                guard let bytes = receive() else { break }
                _ = FileDescriptorWriting.writeAll(output, bytes)
            }
            done.set()
            return End.closed
        } }
        let fromUser: End = await writer.run {
            var buffer = [UInt8](repeating: 0, count: 4096)
            // poll with a timeout: the guest's side may end first, and then this must too.
            while !done.isSet {
                var fd = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
                let ready = poll(&fd, 1, 100)
                if ready < 0 && errno == EINTR { continue }
                guard ready > 0 else { continue }
                let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                guard n > 0 else { done.set(); return .inputEnded }
                let chunk = buffer[0..<n]
                if let at = chunk.firstIndex(of: escape) {
                    if at > 0 { _ = send(Array(chunk[..<at])) }
                    done.set()
                    return .detached
                }
                guard send(Array(chunk)) else { break }
            }
            return .closed
        }
        guard fromUser != .closed else { return await fromGuest.value }
        // Unblocks the reader; on a frozen daemon that call may block too, so neither it
        // nor the reader is waited for beyond a grace period.
        let interrupter = BlockingThread(name: "hvctl-console-stop")
        Task { await interrupter.run { interrupt() } }
        let settled = Flag()
        await withCheckedContinuation { (resumed: CheckedContinuation<Void, Never>) in
            let finish = { @Sendable in if settled.setFirst() { resumed.resume() } }
            Task { _ = await fromGuest.value; finish() }
            Task { try? await Task.sleep(for: .seconds(2)); finish() }
        }
        return fromUser
    }
}

/// A flag several threads set and read.
private final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
    /// Sets it; true for the one caller that set it first.
    func setFirst() -> Bool { !value.exchange(true, ordering: .acquiringAndReleasing) }
}

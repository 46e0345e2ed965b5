import CSystemd
import Glibc
import PinnedThread
import SystemPackage

/// One sd-bus connection, owned by a `SystemdManager`: each method wraps the sd-bus function
/// it names, and the `sd_bus` pointer never leaves this class.
///
/// sd-bus objects are not thread-safe, so every method, the deinit included, first checks
/// that it runs on the manager's pinned thread. Not Sendable: it lives and dies inside the
/// manager's isolation.
final class Bus {
    private let pointer: OpaquePointer
    private let executor: PinnedExecutor
    /// Match slots, each with the object its handler's userdata points at, which must outlive it.
    private var matches: [(slot: OpaquePointer, owner: AnyObject)] = []
    /// Set once the peer has answered. Until then closing must not flush: a peer that never
    /// answered would hold the flush for sd-bus's 90 s.
    var flushesOnClose = false

    private init(pointer: OpaquePointer, executor: PinnedExecutor) {
        self.pointer = pointer
        self.executor = executor
    }

    deinit {
        executor.preconditionOnThread()
        for match in matches { sd_bus_slot_unref(match.slot) }
        if flushesOnClose { sd_bus_flush_close_unref(pointer) } else { sd_bus_close_unref(pointer) }
    }

    // MARK: opening

    /// A connection to the system manager over `transport` (sd_bus_open_system,
    /// sd_bus_new + sd_bus_set_address + sd_bus_start, sd_bus_open_system_remote,
    /// sd_bus_open_system_machine); not yet ready, see `isReady`.
    static func open(_ transport: BusTransport, on executor: PinnedExecutor) -> Result<Bus, OpenFailure> {
        executor.preconditionOnThread()
        var bus: OpaquePointer? = nil
        let r: Int32
        switch transport {
        case .automatic, .systemBus:
            r = sd_bus_open_system(&bus)
        case .managerSocket(let path):
            guard geteuid() == 0 else { return .failure(OpenFailure("the manager socket needs root")) }
            guard access(path, F_OK) == 0 else { return .failure(OpenFailure("\(path) does not exist")) }
            var new: OpaquePointer? = nil
            var rr = sd_bus_new(&new)
            if rr >= 0, let new {
                rr = sd_bus_set_address(new, "unix:path=\(path)")
                if rr >= 0 { rr = sd_bus_start(new) }
                if rr < 0 { sd_bus_unref(new) } else { bus = new }
            }
            r = rr
        case .remote(let host):
            r = sd_bus_open_system_remote(&bus, host)
        case .machine(let name):
            r = sd_bus_open_system_machine(&bus, name)
        }
        guard r >= 0, let bus else { return .failure(OpenFailure(Errno(returned: r).description)) }
        return .success(Bus(pointer: bus, executor: executor))
    }

    /// sd_bus_is_ready: authenticated and, on a bus, Hello answered.
    var isReady: Bool {
        executor.preconditionOnThread()
        return sd_bus_is_ready(pointer) > 0
    }

    /// sd_bus_is_bus_client: true through a bus daemon, false on a peer-to-peer socket.
    var isBusClient: Bool {
        executor.preconditionOnThread()
        return sd_bus_is_bus_client(pointer) > 0
    }

    /// sd_bus_set_method_call_timeout: bounds every call, property reads included.
    func setMethodCallTimeout(_ timeout: Duration) {
        executor.preconditionOnThread()
        sd_bus_set_method_call_timeout(pointer, timeout.microseconds)
    }

    // MARK: pumping

    /// sd_bus_process: reads and dispatches at most one message (running match handlers);
    /// true when it did something, so there may be more.
    func process() throws(Errno) -> Bool {
        executor.preconditionOnThread()
        let r = sd_bus_process(pointer, nil)
        if r < 0 { throw Errno(returned: r) }
        return r > 0
    }

    /// sd_bus_wait: sleeps until a message arrives or `timeout` passes; a signal only wakes it.
    func wait(_ timeout: Duration) throws(Errno) {
        executor.preconditionOnThread()
        let r = sd_bus_wait(pointer, timeout.microseconds)
        if r < 0 && r != -EINTR { throw Errno(returned: r) }
    }

    /// sd_bus_match_signal: `handler` runs inside `process()` for each matching signal, with
    /// `owner` as its userdata, kept alive for as long as the match.
    func matchSignal(
        sender: String?, path: String, interface: String, member: String,
        handler: sd_bus_message_handler_t, owner: AnyObject
    ) throws(Errno) {
        executor.preconditionOnThread()
        var slot: OpaquePointer? = nil
        let r = sd_bus_match_signal(
            pointer, &slot, sender, path, interface, member, handler, Unmanaged.passUnretained(owner).toOpaque())
        guard r >= 0, let slot else { throw Errno(returned: r) }
        matches.append((slot, owner))
    }

    // MARK: calling

    /// sd_bus_message_new_method_call.
    func newMethodCall(destination: String, path: String, interface: String, member: String) throws(Errno) -> BusMessage {
        executor.preconditionOnThread()
        var message: OpaquePointer? = nil
        let r = sd_bus_message_new_method_call(pointer, &message, destination, path, interface, member)
        guard r >= 0, let message else { throw Errno(returned: r) }
        return BusMessage(owning: message)
    }

    /// sd_bus_call with the connection's method call timeout. Messages that arrive meanwhile
    /// are queued, not dispatched: no match handler runs inside it.
    func call(_ message: BusMessage) throws(BusCallError) -> BusMessage {
        executor.preconditionOnThread()
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var reply: OpaquePointer? = nil
        let r = sd_bus_call(pointer, message.pointer, 0, &error, &reply)
        guard r >= 0 else { throw BusCallError(&error, r) }
        guard let reply else { throw BusCallError(name: nil, message: "no reply") }
        return BusMessage(owning: reply)
    }

    /// sd_bus_send: queues `message` without waiting for anything.
    func send(_ message: BusMessage) throws(Errno) {
        executor.preconditionOnThread()
        let r = sd_bus_send(pointer, message.pointer, nil)
        if r < 0 { throw Errno(returned: r) }
    }

    // MARK: properties

    /// sd_bus_get_property_string.
    func getPropertyString(destination: String, path: String, interface: String, member: String) throws(BusCallError) -> String {
        executor.preconditionOnThread()
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var out: UnsafeMutablePointer<CChar>? = nil
        defer { free(out) }
        let r = sd_bus_get_property_string(pointer, destination, path, interface, member, &error, &out)
        guard r >= 0, let out else { throw BusCallError(&error, r) }
        return String(cString: out)
    }

    /// sd_bus_get_property_trivial for the 32-bit types: "i", and "b" (sd-bus's booleans are ints).
    func getPropertyTrivial(destination: String, path: String, interface: String, member: String, type: Character) throws(BusCallError) -> Int32 {
        executor.preconditionOnThread()
        guard let code = type.asciiValue, type == "i" || type == "b" else {
            throw BusCallError(name: nil, message: "'\(type)' is not a 32-bit D-Bus type")
        }
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var value: Int32 = 0
        let r = sd_bus_get_property_trivial(pointer, destination, path, interface, member, &error, CChar(code), &value)
        guard r >= 0 else { throw BusCallError(&error, r) }
        return value
    }

    /// sd_bus_get_property: the reply, positioned at the value of `type`.
    func getProperty(destination: String, path: String, interface: String, member: String, type: String) throws(BusCallError) -> BusMessage {
        executor.preconditionOnThread()
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var reply: OpaquePointer? = nil
        let r = sd_bus_get_property(pointer, destination, path, interface, member, &error, &reply, type)
        guard r >= 0, let reply else { throw BusCallError(&error, r) }
        return BusMessage(owning: reply)
    }
}

/// Why a bus could not be opened, worded for `SystemdError.unreachable`.
struct OpenFailure: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// A method call that failed: the D-Bus error systemd answered with, or the errno sd-bus gave.
struct BusCallError: Error, CustomStringConvertible {
    /// The D-Bus error name ("org.freedesktop.systemd1.NoSuchUnit"), nil for a local failure.
    var name: String?
    var message: String

    var description: String { message }

    init(name: String?, message: String) {
        self.name = name
        self.message = message
    }

    /// From sd-bus's error and the call's negative return value.
    fileprivate init(_ error: inout sd_bus_error, _ r: Int32) {
        name = error.name.map { String(cString: $0) }
        message = error.message.map { String(cString: $0) } ?? Errno(returned: r).description
    }
}

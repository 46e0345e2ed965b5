import CSystemd
import SystemPackage

/// An owned `sd_bus_message`: typed appends and reads over sd-bus's non-variadic primitives
/// (the variadic `sd_bus_message_append`/`_read` cannot be called from Swift).
///
/// Not Sendable: it lives and dies inside one `SystemdManager` call, in the manager's
/// isolation and so on its pinned thread (which `Bus` checks at every call it makes).
final class BusMessage {
    let pointer: OpaquePointer

    /// Takes over a reference the caller already owns.
    init(owning pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        sd_bus_message_unref(pointer)
    }

    private func check(_ r: Int32, _ what: String) throws(BusMessageError) {
        if r < 0 { throw BusMessageError(operation: what, errno: Errno(returned: r)) }
    }

    // MARK: writing

    func append(_ value: String) throws(BusMessageError) {
        try check(value.withCString { sd_bus_message_append_basic(pointer, CChar(UInt8(ascii: "s")), $0) }, "append s")
    }

    func append(_ value: Bool) throws(BusMessageError) {
        var v: Int32 = value ? 1 : 0
        try check(sd_bus_message_append_basic(pointer, CChar(UInt8(ascii: "b")), &v), "append b")
    }

    func append(_ value: UInt64) throws(BusMessageError) {
        var v = value
        try check(sd_bus_message_append_basic(pointer, CChar(UInt8(ascii: "t")), &v), "append t")
    }

    func append(_ value: Int32) throws(BusMessageError) {
        var v = value
        try check(sd_bus_message_append_basic(pointer, CChar(UInt8(ascii: "i")), &v), "append i")
    }

    func append(_ strings: [String]) throws(BusMessageError) {
        try open("a", "s")
        for s in strings { try append(s) }
        try close()
    }

    func append(_ values: [Int32]) throws(BusMessageError) {
        try check(values.withUnsafeBytes { sd_bus_message_append_array(pointer, CChar(UInt8(ascii: "i")), $0.baseAddress, $0.count) }, "append ai")
    }

    func appendBytes(_ bytes: [UInt8]) throws(BusMessageError) {
        try check(bytes.withUnsafeBytes { sd_bus_message_append_array(pointer, CChar(UInt8(ascii: "y")), $0.baseAddress, $0.count) }, "append ay")
    }

    func open(_ type: Character, _ contents: String) throws(BusMessageError) {
        try check(sd_bus_message_open_container(pointer, CChar(type.asciiValue!), contents), "open \(type)\(contents)")
    }

    func close() throws(BusMessageError) {
        try check(sd_bus_message_close_container(pointer), "close container")
    }

    /// sd_bus_message_set_expect_reply(false): the peer need not answer, nor we wait.
    func setNoReply() throws(BusMessageError) {
        try check(sd_bus_message_set_expect_reply(pointer, 0), "set expect reply")
    }

    // MARK: reading

    func readString() throws(BusMessageError) -> String {
        try readStringLike(UInt8(ascii: "s"))
    }

    func readObjectPath() throws(BusMessageError) -> String {
        try readStringLike(UInt8(ascii: "o"))
    }

    private func readStringLike(_ type: UInt8) throws(BusMessageError) -> String {
        var out: UnsafePointer<CChar>? = nil
        try check(sd_bus_message_read_basic(pointer, CChar(type), &out), "read \(Character(Unicode.Scalar(type)))")
        return out.map { String(cString: $0) } ?? ""
    }

    func readUInt32() throws(BusMessageError) -> UInt32 {
        var v: UInt32 = 0
        try check(sd_bus_message_read_basic(pointer, CChar(UInt8(ascii: "u")), &v), "read u")
        return v
    }

    func readBool() throws(BusMessageError) -> Bool {
        var v: Int32 = 0
        try check(sd_bus_message_read_basic(pointer, CChar(UInt8(ascii: "b")), &v), "read b")
        return v != 0
    }

    /// Enters an array, struct or variant; false at the end of the enclosing array.
    func enter(_ type: Character, _ contents: String) throws(BusMessageError) -> Bool {
        let r = sd_bus_message_enter_container(pointer, CChar(type.asciiValue!), contents)
        try check(r, "enter \(type)\(contents)")
        return r > 0
    }

    func exit() throws(BusMessageError) {
        try check(sd_bus_message_exit_container(pointer), "exit container")
    }

    func readBytes() throws(BusMessageError) -> [UInt8] {
        var data: UnsafeRawPointer? = nil
        var size = 0
        try check(sd_bus_message_read_array(pointer, CChar(UInt8(ascii: "y")), &data, &size), "read ay")
        guard let data, size > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: size))
    }
}

struct BusMessageError: Error, CustomStringConvertible {
    var operation: String
    var errno: Errno
    var description: String { "D-Bus message \(operation): \(errno)" }
}

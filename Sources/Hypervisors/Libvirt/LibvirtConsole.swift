@preconcurrency import CLibvirt
import Glibc

/// A guest's serial console through libvirt's stream API (virDomainOpenConsole): bytes from
/// the guest with `receive`, to it with `send`, on a connection of its own.
///
/// @unchecked Sendable: every stored property is a `let` set in `open` and never changed;
/// libvirt's connections are thread-safe and its client streams lock every call themselves
/// (virnetclientstream.c), which is what lets one thread block in virStreamRecv while another
/// calls virStreamSend, as a console needs. Each call reads libvirt's thread-local error on
/// its own thread at once. The pointers are freed in deinit, after both threads are done
/// with the object (their closures hold it until they return).
final class LibvirtConsole: @unchecked Sendable {
    private let lib: LibvirtLibrary
    private let connection: OpaquePointer
    private let stream: OpaquePointer

    private init(lib: LibvirtLibrary, connection: OpaquePointer, stream: OpaquePointer) {
        (self.lib, self.connection, self.stream) = (lib, connection, stream)
    }

    /// Opens the console of the domain whose UUID is `uuid`. Fails when another session
    /// holds it (libvirt allows one).
    static func open(uri: String, uuid: String) throws -> LibvirtConsole {
        let lib = try LibvirtLibrary.shared.get()
        func lastError(_ what: String) -> LibvirtError { LibvirtConnection.failure(what, lib) }
        guard let c = lib.virConnectOpen(uri) else { throw LibvirtError.connect(uri: uri, message: lastError("connect").description) }
        guard let d = lib.virDomainLookupByUUIDString(c, uuid) else {
            let e = lastError("lookup \(uuid)")
            _ = lib.virConnectClose(c)
            throw e
        }
        defer { _ = lib.virDomainFree(d) }
        guard let s = lib.virStreamNew(c, 0) else {
            let e = lastError("virStreamNew")
            _ = lib.virConnectClose(c)
            throw e
        }
        guard lib.virDomainOpenConsole(d, nil, s, 0) == 0 else {
            let e = lastError("open the console")
            _ = lib.virStreamFree(s)
            _ = lib.virConnectClose(c)
            throw e
        }
        return LibvirtConsole(lib: lib, connection: c, stream: s)
    }

    /// The guest's next bytes, blocking; nil when the console closed.
    func receive() -> [UInt8]? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBufferPointer { lib.virStreamRecv(stream, $0.baseAddress, $0.count) }
        guard n > 0 else {
            lib.virResetLastError()
            return nil
        }
        return buffer[0..<Int(n)].map { UInt8(bitPattern: $0) }
    }

    /// Hands `bytes` to the guest; false when the console closed.
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes {
                lib.virStreamSend(stream, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count)
            }
            guard n > 0 else {
                lib.virResetLastError()
                return false
            }
            offset += Int(n)
        }
        return true
    }

    /// Ends the session; a `receive` blocked meanwhile returns nil.
    func abort() {
        _ = lib.virStreamAbort(stream)
        lib.virResetLastError()
    }

    deinit {
        _ = lib.virStreamFree(stream)
        _ = lib.virConnectClose(connection)
    }
}

@preconcurrency import CLibvirt
import Glibc

/// libvirt's C API, loaded with dlopen the first time something talks to libvirt.
///
/// Linked the usual way, libvirt and the ~50 libraries it needs (glib, gnutls, curl, krb5, …)
/// are mapped and relocated at the start of every hvctl process: about 12 ms of dynamic
/// linking for each command, most of which never touch libvirt (`hvctl logs`, hooks, the
/// Docker driver). Loaded on first use, only libvirt's users pay for it. The types still come
/// from libvirt's headers (the CLibvirt system library target), and each function is typed
/// here as its prototype declares it.
struct LibvirtLibrary: Sendable {
    typealias Connection = OpaquePointer  // virConnectPtr
    typealias DomainHandle = OpaquePointer  // virDomainPtr

    let virInitialize: @convention(c) () -> Int32
    let virSetErrorFunc: @convention(c) (UnsafeMutableRawPointer?, virErrorFunc?) -> Void
    let virGetLastError: @convention(c) () -> virErrorPtr?
    let virResetLastError: @convention(c) () -> Void
    let virGetVersion: @convention(c) (UnsafeMutablePointer<UInt>?, UnsafePointer<CChar>?, UnsafeMutablePointer<UInt>?) -> Int32
    let virConnectOpen: @convention(c) (UnsafePointer<CChar>?) -> Connection?
    let virConnectOpenReadOnly: @convention(c) (UnsafePointer<CChar>?) -> Connection?
    let virConnectClose: @convention(c) (Connection?) -> Int32
    let virConnectIsAlive: @convention(c) (Connection?) -> Int32
    let virConnectGetType: @convention(c) (Connection?) -> UnsafePointer<CChar>?
    let virConnectGetVersion: @convention(c) (Connection?, UnsafeMutablePointer<UInt>?) -> Int32
    let virConnectListAllDomains: @convention(c) (Connection?, UnsafeMutablePointer<UnsafeMutablePointer<DomainHandle?>?>?, UInt32) -> Int32
    let virDomainLookupByName: @convention(c) (Connection?, UnsafePointer<CChar>?) -> DomainHandle?
    let virDomainLookupByUUIDString: @convention(c) (Connection?, UnsafePointer<CChar>?) -> DomainHandle?
    let virDomainDefineXML: @convention(c) (Connection?, UnsafePointer<CChar>?) -> DomainHandle?
    let virDomainFree: @convention(c) (DomainHandle?) -> Int32
    let virDomainCreate: @convention(c) (DomainHandle?) -> Int32
    let virDomainShutdown: @convention(c) (DomainHandle?) -> Int32
    let virDomainDestroy: @convention(c) (DomainHandle?) -> Int32
    let virDomainUndefine: @convention(c) (DomainHandle?) -> Int32
    let virDomainUndefineFlags: @convention(c) (DomainHandle?, UInt32) -> Int32
    let virDomainGetMetadata: @convention(c) (DomainHandle?, Int32, UnsafePointer<CChar>?, UInt32) -> UnsafeMutablePointer<CChar>?
    let virDomainGetName: @convention(c) (DomainHandle?) -> UnsafePointer<CChar>?
    let virDomainGetUUIDString: @convention(c) (DomainHandle?, UnsafeMutablePointer<CChar>?) -> Int32
    let virDomainGetState: @convention(c) (DomainHandle?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?, UInt32) -> Int32
    let virDomainGetID: @convention(c) (DomainHandle?) -> UInt32
    let virDomainIsPersistent: @convention(c) (DomainHandle?) -> Int32

    static let soname = "libvirt.so.0"

    /// Loaded once per process; the failure, if any, is kept and reported to every caller.
    static let shared: Result<LibvirtLibrary, LibvirtError> = load()

    static func load() -> Result<LibvirtLibrary, LibvirtError> {
        guard let handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "not found"
            return .failure(.library("cannot load \(soname) (\(reason)); install it with `apt-get install libvirt0`"))
        }
        // The handle stays open for the life of the process: libvirt keeps threads and state.
        func symbol<T>(_ name: String) throws(LibvirtError) -> T {
            guard let address = dlsym(handle, name) else { throw .library("\(soname) has no \(name); hvctl needs libvirt 1.2.12 or later") }
            return unsafeBitCast(address, to: T.self)
        }
        do {
            return .success(
                LibvirtLibrary(
                    virInitialize: try symbol("virInitialize"), virSetErrorFunc: try symbol("virSetErrorFunc"),
                    virGetLastError: try symbol("virGetLastError"), virResetLastError: try symbol("virResetLastError"),
                    virGetVersion: try symbol("virGetVersion"), virConnectOpen: try symbol("virConnectOpen"),
                    virConnectOpenReadOnly: try symbol("virConnectOpenReadOnly"), virConnectClose: try symbol("virConnectClose"),
                    virConnectIsAlive: try symbol("virConnectIsAlive"), virConnectGetType: try symbol("virConnectGetType"),
                    virConnectGetVersion: try symbol("virConnectGetVersion"),
                    virConnectListAllDomains: try symbol("virConnectListAllDomains"),
                    virDomainLookupByName: try symbol("virDomainLookupByName"),
                    virDomainLookupByUUIDString: try symbol("virDomainLookupByUUIDString"), virDomainDefineXML: try symbol("virDomainDefineXML"),
                    virDomainFree: try symbol("virDomainFree"), virDomainCreate: try symbol("virDomainCreate"),
                    virDomainShutdown: try symbol("virDomainShutdown"), virDomainDestroy: try symbol("virDomainDestroy"),
                    virDomainUndefine: try symbol("virDomainUndefine"), virDomainUndefineFlags: try symbol("virDomainUndefineFlags"),
                    virDomainGetMetadata: try symbol("virDomainGetMetadata"), virDomainGetName: try symbol("virDomainGetName"),
                    virDomainGetUUIDString: try symbol("virDomainGetUUIDString"), virDomainGetState: try symbol("virDomainGetState"),
                    virDomainGetID: try symbol("virDomainGetID"), virDomainIsPersistent: try symbol("virDomainIsPersistent")))
        } catch {
            return .failure(error)
        }
    }
}

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
    typealias NetworkHandle = OpaquePointer  // virNetworkPtr
    typealias StreamHandle = OpaquePointer  // virStreamPtr
    typealias PoolHandle = OpaquePointer  // virStoragePoolPtr
    typealias VolumeHandle = OpaquePointer  // virStorageVolPtr

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
    let virConnectGetCapabilities: @convention(c) (Connection?) -> UnsafeMutablePointer<CChar>?
    let virDomainGetXMLDesc: @convention(c) (DomainHandle?, UInt32) -> UnsafeMutablePointer<CChar>?
    let virDomainInterfaceAddresses:
        @convention(c) (DomainHandle?, UnsafeMutablePointer<UnsafeMutablePointer<virDomainInterfacePtr?>?>?, UInt32, UInt32) -> Int32
    let virDomainInterfaceFree: @convention(c) (virDomainInterfacePtr?) -> Void
    let virNetworkLookupByName: @convention(c) (Connection?, UnsafePointer<CChar>?) -> NetworkHandle?
    let virNetworkLookupByUUIDString: @convention(c) (Connection?, UnsafePointer<CChar>?) -> NetworkHandle?
    let virNetworkDefineXML: @convention(c) (Connection?, UnsafePointer<CChar>?) -> NetworkHandle?
    let virNetworkCreate: @convention(c) (NetworkHandle?) -> Int32
    let virNetworkDestroy: @convention(c) (NetworkHandle?) -> Int32
    let virNetworkUndefine: @convention(c) (NetworkHandle?) -> Int32
    let virNetworkIsActive: @convention(c) (NetworkHandle?) -> Int32
    let virNetworkGetUUIDString: @convention(c) (NetworkHandle?, UnsafeMutablePointer<CChar>?) -> Int32
    let virNetworkGetXMLDesc: @convention(c) (NetworkHandle?, UInt32) -> UnsafeMutablePointer<CChar>?
    let virNetworkFree: @convention(c) (NetworkHandle?) -> Int32
    let virStreamNew: @convention(c) (Connection?, UInt32) -> StreamHandle?
    let virDomainOpenConsole: @convention(c) (DomainHandle?, UnsafePointer<CChar>?, StreamHandle?, UInt32) -> Int32
    let virStreamRecv: @convention(c) (StreamHandle?, UnsafeMutablePointer<CChar>?, Int) -> Int32
    let virStreamSend: @convention(c) (StreamHandle?, UnsafePointer<CChar>?, Int) -> Int32
    let virStreamFinish: @convention(c) (StreamHandle?) -> Int32
    let virStreamAbort: @convention(c) (StreamHandle?) -> Int32
    let virStreamFree: @convention(c) (StreamHandle?) -> Int32
    let virStoragePoolLookupByName: @convention(c) (Connection?, UnsafePointer<CChar>?) -> PoolHandle?
    let virStoragePoolLookupByUUIDString: @convention(c) (Connection?, UnsafePointer<CChar>?) -> PoolHandle?
    let virStoragePoolDefineXML: @convention(c) (Connection?, UnsafePointer<CChar>?, UInt32) -> PoolHandle?
    let virStoragePoolCreate: @convention(c) (PoolHandle?, UInt32) -> Int32
    let virStoragePoolDestroy: @convention(c) (PoolHandle?) -> Int32
    let virStoragePoolUndefine: @convention(c) (PoolHandle?) -> Int32
    let virStoragePoolIsActive: @convention(c) (PoolHandle?) -> Int32
    let virStoragePoolRefresh: @convention(c) (PoolHandle?, UInt32) -> Int32
    let virStoragePoolGetUUIDString: @convention(c) (PoolHandle?, UnsafeMutablePointer<CChar>?) -> Int32
    let virStoragePoolFree: @convention(c) (PoolHandle?) -> Int32
    let virStorageVolCreateXML: @convention(c) (PoolHandle?, UnsafePointer<CChar>?, UInt32) -> VolumeHandle?
    let virStorageVolLookupByName: @convention(c) (PoolHandle?, UnsafePointer<CChar>?) -> VolumeHandle?
    let virStorageVolGetPath: @convention(c) (VolumeHandle?) -> UnsafeMutablePointer<CChar>?
    let virStorageVolDelete: @convention(c) (VolumeHandle?, UInt32) -> Int32
    let virStorageVolFree: @convention(c) (VolumeHandle?) -> Int32

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
                    virDomainGetID: try symbol("virDomainGetID"), virDomainIsPersistent: try symbol("virDomainIsPersistent"),
                    virConnectGetCapabilities: try symbol("virConnectGetCapabilities"),
                    virDomainGetXMLDesc: try symbol("virDomainGetXMLDesc"),
                    virDomainInterfaceAddresses: try symbol("virDomainInterfaceAddresses"),
                    virDomainInterfaceFree: try symbol("virDomainInterfaceFree"),
                    virNetworkLookupByName: try symbol("virNetworkLookupByName"),
                    virNetworkLookupByUUIDString: try symbol("virNetworkLookupByUUIDString"),
                    virNetworkDefineXML: try symbol("virNetworkDefineXML"), virNetworkCreate: try symbol("virNetworkCreate"),
                    virNetworkDestroy: try symbol("virNetworkDestroy"), virNetworkUndefine: try symbol("virNetworkUndefine"),
                    virNetworkIsActive: try symbol("virNetworkIsActive"), virNetworkGetUUIDString: try symbol("virNetworkGetUUIDString"),
                    virNetworkGetXMLDesc: try symbol("virNetworkGetXMLDesc"), virNetworkFree: try symbol("virNetworkFree"),
                    virStreamNew: try symbol("virStreamNew"), virDomainOpenConsole: try symbol("virDomainOpenConsole"),
                    virStreamRecv: try symbol("virStreamRecv"), virStreamSend: try symbol("virStreamSend"),
                    virStreamFinish: try symbol("virStreamFinish"), virStreamAbort: try symbol("virStreamAbort"),
                    virStreamFree: try symbol("virStreamFree"),
                    virStoragePoolLookupByName: try symbol("virStoragePoolLookupByName"),
                    virStoragePoolLookupByUUIDString: try symbol("virStoragePoolLookupByUUIDString"),
                    virStoragePoolDefineXML: try symbol("virStoragePoolDefineXML"), virStoragePoolCreate: try symbol("virStoragePoolCreate"),
                    virStoragePoolDestroy: try symbol("virStoragePoolDestroy"), virStoragePoolUndefine: try symbol("virStoragePoolUndefine"),
                    virStoragePoolIsActive: try symbol("virStoragePoolIsActive"), virStoragePoolRefresh: try symbol("virStoragePoolRefresh"),
                    virStoragePoolGetUUIDString: try symbol("virStoragePoolGetUUIDString"), virStoragePoolFree: try symbol("virStoragePoolFree"),
                    virStorageVolCreateXML: try symbol("virStorageVolCreateXML"), virStorageVolLookupByName: try symbol("virStorageVolLookupByName"),
                    virStorageVolGetPath: try symbol("virStorageVolGetPath"), virStorageVolDelete: try symbol("virStorageVolDelete"),
                    virStorageVolFree: try symbol("virStorageVolFree")))
        } catch {
            return .failure(error)
        }
    }
}

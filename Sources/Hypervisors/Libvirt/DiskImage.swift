import Core
import FoundationEssentials
import Glibc
import SystemPackage

/// A disk image a guest boots from (`--image`): qcow2 or raw, by its first bytes. hvctl
/// never writes it: the guest writes to an overlay hvctl makes on top of it.
struct DiskImage: Sendable, Equatable {
    var path: String
    var format: String
    /// The size the guest sees, in bytes: qcow2's header field, a raw file's length.
    var virtualSize: Int

    /// The overlay names its base by path, and QEMU reopens that path at every start: whoever
    /// can rename another file into it (a qcow2 backed by a shut-off guest's overlay) boots
    /// their guest on someone else's disk. So the image, and every directory on its way, must
    /// be one only `trust`'s users can change, as for hooks; the physical path that passed is
    /// the one the overlay names.
    static func inspect(_ given: String, trust: TrustPolicy) throws -> DiskImage {
        guard given.hasPrefix("/") else { throw HypervisorError.badRequest("--image takes an absolute path for libvirt (\(given))") }
        let path = try PathTrust(trust, purpose: "boot the image \(given) (copy it where only root can write)").verify(given, as: .file)
        // O_NONBLOCK: a FIFO put in its place must not hold the launch.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw HypervisorError.unusableFile("cannot read the image \(path): \(Errno.current.description)") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw HypervisorError.unusableFile("the image \(path) is not a regular file")
        }
        var header = [UInt8](repeating: 0, count: 32)
        let n = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 32, 0) }
        if n == 32, header[0..<4] == [0x51, 0x46, 0x49, 0xfb] {  // "QFI\xfb"
            // A backing file of its own would be opened by QEMU's user, which owns every
            // guest's overlay: it could read another guest's disk.
            guard header[8..<16].allSatisfy({ $0 == 0 }) else {
                throw HypervisorError.unusableFile("the image \(path) is itself an overlay (it names a backing file); give hvctl a standalone image (qemu-img convert)")
            }
            let size = header[24..<32].reduce(0) { $0 << 8 | Int($1) }
            return DiskImage(path: path, format: "qcow2", virtualSize: size)
        }
        guard st.st_size > 0 else { throw HypervisorError.unusableFile("the image \(path) is empty") }
        return DiskImage(path: path, format: "raw", virtualSize: Int(st.st_size))
    }
}

extension Optional {
    /// `map` for an async transform.
    func asyncMap<U>(_ transform: (Wrapped) async throws -> U) async rethrows -> U? {
        guard let self else { return nil }
        return try await transform(self)
    }
}

import Core
import Glibc
import SystemPackage

/// Where hvctl keeps what its guests need besides their domains: built initramfs images,
/// console logs (by domain UUID) and disk overlays. Root's, and hvctl's alone: a file in it
/// that no instance on record claims is a leftover cleanup may remove.
struct GuestDirectory: Sendable {
    var root: String
    var initramfs: String { root + "/initramfs" }
    var console: String { root + "/console" }
    var images: String { root + "/images" }

    /// Held to the trust rule (root's all the way down) and made when missing: QEMU boots
    /// what is in it and virtlogd writes into it as root. QEMU's user must read initramfs
    /// (0755) and reach its overlays in images (0711: nobody else learns their names); console
    /// logs are root's to read (0700).
    func prepare() throws {
        let trust = PathTrust(.rootOnly, purpose: "keep guests' files")
        try trust.verifyExistingPrefix(root)
        for (path, mode) in [(root, mode_t(0o755)), (initramfs, 0o755), (console, 0o700), (images, 0o711)] {
            try AtomicFile.makeDirectory(path, mode: mode)
            _ = try trust.verify(path, as: .directory)
            // An older hvctl made images 0755.
            var st = stat()
            if lstat(path, &st) == 0, st.st_mode & 0o7777 != mode, chmod(path, mode) != 0 {
                throw HypervisorError.unusableFile("cannot set \(path) to mode 0\(String(mode, radix: 8)): \(Errno.current.description)")
            }
        }
    }
}

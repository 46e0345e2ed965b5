import FoundationEssentials

/// A minimal writer of the "newc" cpio format the kernel unpacks as an initramfs
/// (Documentation/driver-api/early-userspace/buffer-format.rst): a 110-byte ASCII header,
/// the name, padding to 4 bytes, the data, padding to 4 bytes. Uncompressed: every kernel
/// takes it, and the guest's boot is no slower for it.
struct CpioArchive {
    private(set) var data = Data()
    private var inode = 1

    mutating func directory(_ path: String, mode: Int = 0o755) {
        entry(path, mode: 0o040000 | mode, links: 2, contents: Data())
    }

    mutating func file(_ path: String, contents: Data, mode: Int = 0o644) {
        entry(path, mode: 0o100000 | mode, links: 1, contents: contents)
    }

    mutating func symlink(_ path: String, to target: String) {
        entry(path, mode: 0o120777, links: 1, contents: Data(target.utf8))
    }

    /// The archive with its trailer.
    func finished() -> Data {
        var copy = self
        copy.entry("TRAILER!!!", mode: 0, links: 1, contents: Data())
        return copy.data
    }

    private mutating func entry(_ path: String, mode: Int, links: Int, contents: Data) {
        let name = Array(path.utf8) + [0]
        // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
        let fields = [inode, mode, 0, 0, links, 0, contents.count, 0, 0, 0, 0, name.count, 0]
        inode += 1
        var header = "070701"
        for field in fields {
            let hex = String(field, radix: 16, uppercase: true)
            header += String(repeating: "0", count: max(0, 8 - hex.count)) + hex
        }
        data.append(contentsOf: Array(header.utf8))
        data.append(contentsOf: name)
        pad()
        data.append(contents)
        pad()
    }

    private mutating func pad() {
        let rest = data.count % 4
        if rest != 0 { data.append(contentsOf: [UInt8](repeating: 0, count: 4 - rest)) }
    }
}

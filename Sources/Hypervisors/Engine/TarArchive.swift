import FoundationEssentials

/// A minimal ustar writer: enough to hand the Docker daemon a root filesystem to import.
struct TarArchive {
    private(set) var data = Data()

    mutating func directory(_ path: String, mode: Int = 0o755) {
        header(path.hasSuffix("/") ? path : path + "/", mode: mode, size: 0, type: "5", link: "")
    }

    mutating func file(_ path: String, contents: Data, mode: Int = 0o644) {
        header(path, mode: mode, size: contents.count, type: "0", link: "")
        data.append(contents)
        pad()
    }

    mutating func symlink(_ path: String, to target: String) {
        header(path, mode: 0o777, size: 0, type: "2", link: target)
    }

    /// The archive with its two zero end blocks.
    func finished() -> Data {
        data + Data(count: 1024)
    }

    private mutating func pad() {
        let rest = data.count % 512
        if rest != 0 { data.append(Data(count: 512 - rest)) }
    }

    private mutating func header(_ name: String, mode: Int, size: Int, type: Character, link: String) {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ s: String, _ offset: Int, _ length: Int) {
            for (i, b) in s.utf8.prefix(length).enumerated() { h[offset + i] = b }
        }
        func octal(_ v: Int, _ offset: Int, _ length: Int) {
            let digits = String(v, radix: 8)
            put(String(repeating: "0", count: max(0, length - 1 - digits.count)) + digits, offset, length - 1)
        }
        put(name, 0, 100)
        octal(mode, 100, 8)
        octal(0, 108, 8)  // uid
        octal(0, 116, 8)  // gid
        octal(size, 124, 12)
        octal(0, 136, 12)  // mtime: reproducible images
        put(String(type), 156, 1)
        put(link, 157, 100)
        put("ustar", 257, 6)
        put("00", 263, 2)
        put("root", 265, 32)
        put("root", 297, 32)
        // The checksum is computed with its own field read as eight spaces.
        for i in 148..<156 { h[i] = 32 }
        let sum = h.reduce(0) { $0 + Int($1) }
        let digits = String(sum, radix: 8)
        put(String(repeating: "0", count: max(0, 6 - digits.count)) + digits, 148, 6)
        h[154] = 0
        h[155] = 32
        data.append(contentsOf: h)
    }
}

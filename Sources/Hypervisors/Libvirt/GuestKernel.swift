import Core
import FoundationEssentials
import Glibc

/// The Linux kernel hvctl's default guest boots, and the directory of its modules.
///
/// The host's own (/boot/vmlinuz-RELEASE with /lib/modules/RELEASE) when the host has one;
/// otherwise one unpacked from Debian's linux-image package into hvctl's cache, never
/// installed over the host's boot (a container or a VM without /boot):
///
///     apt-get download linux-image-amd64's dependency, then
///     dpkg-deb -x linux-image-*.deb /var/cache/hvctl/guest-kernel
///
/// (scripts/setup and `hvctl install libvirt` do this). Either way, root must own the kernel
/// and every directory on its way, closed to others: QEMU boots it, and hvctl packs its
/// modules into what the guest runs as PID 1.
struct GuestKernel: Sendable, Equatable {
    var release: String
    var image: String
    var modules: String

    static let cache = "/var/cache/hvctl/guest-kernel"

    /// The host's kernel, else the newest in the cache: the first QEMU's user can read
    /// (`readable`; Ubuntu keeps /boot/vmlinuz-* 0600, and hvctl does not relabel it).
    static func find(cache: String = cache, readable: (String) -> Bool = { _ in true }) throws -> GuestKernel {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let trust = PathTrust(.rootOnly, purpose: "boot a guest")
        let host = GuestKernel(release: release, image: "/boot/vmlinuz-\(release)", modules: "/lib/modules/\(release)")
        for candidate in [host] + cached(in: cache) where access(candidate.image, R_OK) == 0 && readable(candidate.image) {
            _ = try trust.verify(candidate.image, as: .file)
            return candidate
        }
        let hostShut = access(host.image, R_OK) == 0 ? "QEMU's user cannot read \(host.image) (chmod o+r it, or use the cache) and" : "this host has no \(host.image) and"
        throw HypervisorError.unusableFile(
            "no kernel for hvctl's guest: \(hostShut) \(cache) has none QEMU can read; "
                + "unpack Debian's kernel there: `apt-get download $(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image/{print $2}') && dpkg-deb -x linux-image-*.deb \(cache)` "
                + "(or boot your own with --kernel and --initrd)")
    }

    /// Kernels unpacked in `cache` (boot/vmlinuz-RELEASE), newest release first.
    static func cached(in cache: String) -> [GuestKernel] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: cache + "/boot")) ?? []
        return names.filter { $0.hasPrefix("vmlinuz-") }.map { String($0.dropFirst("vmlinuz-".count)) }
            .sorted { releaseOrder($1, $0) }
            .map { GuestKernel(release: $0, image: "\(cache)/boot/vmlinuz-\($0)", modules: "\(cache)/lib/modules/\($0)") }
    }

    /// "6.1.0-9" before "6.1.0-10": runs of digits compare as numbers.
    static func releaseOrder(_ a: String, _ b: String) -> Bool {
        func parts(_ s: String) -> [Int] { s.split { !$0.isNumber }.map { Int($0) ?? 0 } }
        return parts(a).lexicographicallyPrecedes(parts(b))
    }
}

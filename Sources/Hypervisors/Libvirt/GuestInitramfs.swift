import Core
import FoundationEssentials
import Glibc

/// The initramfs of hvctl's default guest, built on the host as Docker's base image is: a
/// static busybox, the kernel's virtio modules (PCI, network, block) with what they depend
/// on, and an /init that loads them, takes an address with udhcpc when there is a network,
/// says `hvctl-guest: ready` on the serial console and leaves a shell there.
enum GuestInitramfs {
    /// The line that says the guest booted to its init.
    static let readyLine = "hvctl-guest: ready"
    static let addressPrefix = "hvctl-guest: address "
    /// Bumped when /init changes, so a cached initramfs of the old one is not used.
    static let version = 1
    static let wantedModules = ["virtio_pci", "virtio_net", "virtio_blk"]

    /// The initramfs for `kernel` in `directory`, built there once (atomically, root's 0644:
    /// QEMU's user reads it).
    static func ensure(for kernel: GuestKernel, in directory: String) throws -> String {
        let path = "\(directory)/initramfs-\(kernel.release)-v\(version).cpio"
        if access(path, R_OK) == 0 { return path }
        // Root packs these modules into what the guest runs as PID 1, in a file anyone may
        // read: every file and directory under them must be root's.
        _ = try PathTrust(.rootOnly, purpose: "build the guest's initramfs").verifyTree(kernel.modules + "/kernel", limit: 1_000_000)
        try AtomicFile.write(try build(kernel), to: path, mode: 0o644)
        return path
    }

    static func build(_ kernel: GuestKernel) throws -> Data {
        guard let busybox = FileManager.default.contents(atPath: BaseImage.busybox) else {
            throw HypervisorError.unusableFile(
                "\(BaseImage.busybox) is missing, so hvctl cannot build its guest's initramfs; install busybox-static (apt-get install busybox-static) or boot your own with --kernel and --initrd")
        }
        let modules = try loadOrder(kernel)
        var cpio = CpioArchive()
        for d in ["bin", "dev", "etc", "proc", "sys", "tmp", "lib", "lib/modules"] { cpio.directory(d) }
        cpio.file("bin/busybox", contents: busybox, mode: 0o755)
        cpio.symlink("bin/sh", to: "busybox")
        for module in modules {
            guard let bytes = FileManager.default.contents(atPath: module.path) else {
                throw HypervisorError.unusableFile("cannot read \(module.path) for hvctl's guest")
            }
            cpio.file("lib/modules/\(module.name).ko", contents: bytes)
        }
        cpio.file("etc/udhcpc.script", contents: Data(udhcpcScript.utf8), mode: 0o755)
        cpio.file("init", contents: Data(initScript(modules: modules.map(\.name)).utf8), mode: 0o755)
        return cpio.finished()
    }

    struct Module: Equatable { var name: String, path: String }

    /// `wantedModules` and their dependencies (the `depends=` of each module's .modinfo),
    /// dependencies first. A module with no file is built into the kernel, or absent.
    static func loadOrder(_ kernel: GuestKernel) throws -> [Module] {
        var files: [String: String] = [:]
        let root = kernel.modules + "/kernel"
        for relative in (try? FileManager.default.subpathsOfDirectory(atPath: root)) ?? [] where relative.hasSuffix(".ko") {
            let base = relative.split(separator: "/").last.map(String.init) ?? relative
            files[String(base.dropLast(3)).replacingEvery("-", with: "_")] = root + "/" + relative
        }
        var order: [Module] = []
        var seen: Set<String> = []
        func visit(_ name: String) {
            guard !seen.contains(name) else { return }
            seen.insert(name)
            guard let path = files[name] else { return }
            for dependency in dependencies(of: path) { visit(dependency) }
            order.append(Module(name: name, path: path))
        }
        wantedModules.forEach(visit)
        return order
    }

    /// The `depends=a,b` string of a module's .modinfo section, found in its bytes.
    static func dependencies(of path: String) -> [String] {
        guard let bytes = FileManager.default.contents(atPath: path) else { return [] }
        let key = Array("\0depends=".utf8)
        guard let start = bytes.firstRange(of: key) else { return [] }
        let value = bytes[start.upperBound...].prefix { $0 != 0 }
        return String(decoding: value, as: UTF8.self).split(separator: ",").map { String($0).replacingEvery("-", with: "_") }
    }

    static func initScript(modules: [String]) -> String {
        """
        #!/bin/busybox sh
        /bin/busybox --install -s /bin
        mount -t proc proc /proc
        mount -t sysfs sys /sys
        mount -t devtmpfs dev /dev
        for m in \(modules.joined(separator: " ")); do insmod /lib/modules/$m.ko; done
        hostname "$(sed -n 's/.*hvctl.name=\\([^ ]*\\).*/\\1/p' /proc/cmdline)"
        ip link set lo up
        if ip link set eth0 up 2>/dev/null; then
            udhcpc -i eth0 -s /etc/udhcpc.script -q -t 5 -T 1 -n >/dev/null 2>&1 &&
                echo "\(addressPrefix)$(ip -4 -o addr show eth0 | awk '{print $4}')"
        fi
        echo "\(readyLine)"
        # The console keeps a shell: leaving one starts another rather than ending PID 1.
        while :; do setsid cttyhack sh -l; done

        """
    }

    static let udhcpcScript = """
        #!/bin/sh
        case "$1" in
        bound|renew)
            ip addr flush dev "$interface"
            ip addr add "$ip/$mask" dev "$interface"
            [ -n "$router" ] && ip route add default via "${router%% *}"
            ;;
        esac
        exit 0

        """
}

import Core
import Glibc

/// What QEMU opens as its own user, not as root: libvirt's DAC labelling is off for hvctl's
/// guests (so it never chowns a user's image or the host's kernel), so a file QEMU's user
/// cannot read fails the guest's start with a message about QEMU, not about the file.
/// Checked before anything is made, naming the component in the way.
struct QemuAccess: Sendable {
    var uid: uid_t
    var gid: gid_t

    /// The user of libvirt's DAC label ("+UID:+GID"); nil when QEMU runs as root.
    init?(label: String?) {
        guard let label else { return nil }
        let parts = label.split(separator: ":").map { $0.hasPrefix("+") ? $0.dropFirst() : $0 }
        guard parts.count == 2, let uid = uid_t(parts[0]), let gid = gid_t(parts[1]) else { return nil }
        (self.uid, self.gid) = (uid, gid)
    }

    /// The first directory QEMU cannot enter on the way to `path`, or `path` itself when it
    /// cannot read it, with its mode; nil when it can.
    func blocker(_ path: String) -> (path: String, mode: mode_t, isFile: Bool)? {
        var components = ["/"]
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            components.append(current)
        }
        for (i, component) in components.enumerated() {
            var st = stat()
            guard stat(component, &st) == 0 else { continue }
            let isFile = i == components.count - 1
            let (owner, group, other): (mode_t, mode_t, mode_t) = isFile ? (S_IRUSR, S_IRGRP, S_IROTH) : (S_IXUSR, S_IXGRP, S_IXOTH)
            let allowed = st.st_uid == uid ? st.st_mode & owner != 0 : st.st_gid == gid ? st.st_mode & group != 0 : st.st_mode & other != 0
            if !allowed { return (component, st.st_mode & 0o7777, isFile) }
        }
        return nil
    }

    func canRead(_ path: String) -> Bool { blocker(path) == nil }

    /// Throws, in one line, when QEMU's user cannot read `path` (`what`: "the image").
    func checkReadable(_ path: String, what: String) throws {
        guard let (component, mode, isFile) = blocker(path) else { return }
        throw HypervisorError.unusableFile(
            "QEMU runs as uid \(uid) and cannot \(isFile ? "read" : "enter") \(component) (mode \(String(mode, radix: 8))), on the way to \(what); "
                + "let it (chmod o+\(isFile ? "r" : "x")), or put the file where it can")
    }
}

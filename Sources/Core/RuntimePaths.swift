import FoundationEssentials
import Glibc
import SystemPackage

/// Where hvctl keeps what lasts only until reboot: the host lock and the DevStack functions
/// file in the runtime directory (/run/hvctl, or $HVCTL_RUNTIME_DIR), and the liveness locks
/// of running commands in one fixed host-wide directory.
public enum RuntimePaths {
    public static let defaultDirectory = "/run/hvctl"

    /// $HVCTL_RUNTIME_DIR, else /run/hvctl: the one place every module asks.
    /// Absolute, with `.` and `..` taken out: it is handed to units whose working directory
    /// is not ours, and hooks source a file in it.
    public static func directory(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        normalized(environment["HVCTL_RUNTIME_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultDirectory)
    }

    /// `path` made absolute from the current directory, `.`, `..` and repeated slashes
    /// taken out lexically (the trust check then walks the physical path).
    public static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in PathTrust.absolute(path).split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// This program's own path, for units and hooks that call hvctl again.
    public static var executable: String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The DevStack functions file hooks source first.
    public static func functionsFile(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        directory(environment) + "/devstack-functions.sh"
    }

    /// Liveness locks, one per running command, host-wide: neither HVCTL_STATE_DIR nor
    /// HVCTL_RUNTIME_DIR moves it, so every hvctl on the host — another CI job's, a test
    /// sandbox's — sees every run that is going, whatever state directory it uses.
    public static let liveDirectory = "/run/hvctl/live"

    /// Makes `path` (mode 0755, owned by whoever runs hvctl, root) unless it exists, then
    /// checks it and its ancestors against `policy`: hvctl writes files there that hooks
    /// source, so nobody outside the policy may be able to replace them. Returns the
    /// physical path.
    @discardableResult
    public static func prepare(_ path: String, policy: TrustPolicy = .invoking, purpose: String) throws -> String {
        let trust = PathTrust(policy, purpose: purpose)
        // The ancestors first: never create anything inside a directory someone else controls.
        try trust.verifyExistingPrefix(path)
        var st = stat()
        if lstat(path, &st) != 0 {
            try makeDirectories(path)
        }
        return try trust.verify(path, as: .directory)
    }

    static func makeDirectories(_ path: String) throws {
        var st = stat()
        if lstat(path, &st) == 0 { return }
        let parent = PathName.parent(of: path)
        if !parent.isEmpty && parent != path { try makeDirectories(parent) }
        if mkdir(path, 0o755) == 0 {
            // Whatever the umask: hooks running as another --user still read the functions
            // file. Only what was just made here, and never through a link.
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd >= 0 {
                fchmod(fd, 0o755)
                close(fd)
            }
        } else if errno != EEXIST {
            throw TrustError.unreachable(path: path, reason: "cannot create it: \(Errno.current.description)")
        }
    }
}

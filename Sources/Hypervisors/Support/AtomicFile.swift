import Foundation
import Glibc

/// Whole-file writes that never leave a half-written file: temp file in the same directory,
/// fsync, rename over the target.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, mode: mode_t) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        try makeDirectory(dir)
        var existing = stat()
        let keepMode = stat(path, &existing) == 0 ? existing.st_mode & 0o7777 : mode
        let temp = dir + "/.\(url.lastPathComponent).\(getpid()).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, keepMode)
        guard fd >= 0 else { throw AtomicFileError(path: path, reason: String(cString: strerror(errno))) }
        let written = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
        // The reason is taken right at the call that failed, before anything else sets errno.
        var failure: String?
        if !written { failure = String(cString: strerror(errno)) }
        if failure == nil && (fchmod(fd, keepMode) != 0 || fsync(fd) != 0) { failure = String(cString: strerror(errno)) }
        close(fd)
        if failure == nil && rename(temp, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temp)
            throw AtomicFileError(path: path, reason: failure)
        }
    }
}

extension AtomicFile {
    /// `mkdir -p`, with the system's reason when it fails ("Not a directory", "Permission
    /// denied"), which FileManager's errors do not carry.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws {
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw AtomicFileError(path: path, reason: "it exists and is not a directory") }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try makeDirectory(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw AtomicFileError(path: path, reason: String(cString: strerror(errno)))
        }
    }
}

public struct AtomicFileError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}

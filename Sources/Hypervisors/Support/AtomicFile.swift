import Foundation
import Glibc

/// Whole-file writes that never leave a half-written file: temp file in the same directory,
/// fsync, rename over the target.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, mode: mode_t) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var existing = stat()
        let keepMode = stat(path, &existing) == 0 ? existing.st_mode & 0o7777 : mode
        let temp = dir + "/.\(url.lastPathComponent).\(getpid()).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, keepMode)
        guard fd >= 0 else { throw AtomicFileError(path: path, reason: String(cString: strerror(errno))) }
        var ok = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
        if data.isEmpty { ok = true }
        let reason = String(cString: strerror(errno))
        ok = ok && fchmod(fd, keepMode) == 0 && fsync(fd) == 0
        close(fd)
        guard ok, rename(temp, path) == 0 else {
            unlink(temp)
            throw AtomicFileError(path: path, reason: reason)
        }
    }
}

public struct AtomicFileError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}

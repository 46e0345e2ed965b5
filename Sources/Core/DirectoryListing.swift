import Glibc
import SystemPackage

/// The names in a directory, from readdir(3), with the system's reason when it cannot be
/// read ("Permission denied", "Not a directory") rather than Foundation's NSError text.
public enum DirectoryListing {
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "cannot list \(OneLine.escaping(path)): \(reason)" }
    }

    /// Every name but `.` and `..`, in no particular order.
    public static func names(of path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw Failure(path: path, reason: Errno.current.description) }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }
}

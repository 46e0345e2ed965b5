enum CleanupError: Error, CustomStringConvertible {
    case failed([String])
    case unreachable([String])
    case remaining([String])

    var description: String {
        switch self {
        case .failed(let lines): return "cleanup failed: \(lines.joined(separator: "; "))"
        case .unreachable(let lines):
            return "not every driver could be looked at: \(lines.joined(separator: "; ")) (--ignore-unreachable accepts that)"
        case .remaining(let lines):
            return "\(lines.count) marked item\(lines.count == 1 ? "" : "s") remain: \(lines.joined(separator: "; "))"
        }
    }
}

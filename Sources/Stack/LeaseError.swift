public enum LeaseError: Error, Equatable, Sendable, CustomStringConvertible {
    case unwritable(String, String)

    public var description: String {
        switch self {
        case .unwritable(let path, let reason): return "cannot write the run lease \(path): \(reason)"
        }
    }
}

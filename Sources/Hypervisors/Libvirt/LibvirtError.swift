import CLibvirt

/// A libvirt failure, carrying libvirt's own message.
public enum LibvirtError: Error, Equatable, Sendable, CustomStringConvertible {
    case connect(uri: String, message: String)
    case noSuchDomain(String)
    /// Any other failed call; `code` is libvirt's virErrorNumber.
    case call(operation: String, code: Int32, message: String)
    case closed
    /// libvirt's library could not be loaded.
    case library(String)

    public var description: String {
        switch self {
        case .connect(let uri, let message):
            return "cannot connect to libvirt at \(uri): \(message)"
        case .noSuchDomain(let name):
            return "libvirt has no domain named '\(name)'"
        case .call(let operation, _, let message):
            return "libvirt \(operation) failed: \(message)"
        case .closed:
            return "the libvirt connection is closed"
        case .library(let reason):
            return reason
        }
    }

    /// libvirt's error number, when it gave one.
    public var code: Int32? {
        switch self {
        case .call(_, let code, _): return code
        case .noSuchDomain: return Int32(VIR_ERR_NO_DOMAIN.rawValue)
        default: return nil
        }
    }
}

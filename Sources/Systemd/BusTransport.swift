/// How to reach the system manager.
public enum BusTransport: Sendable, Equatable, CustomStringConvertible {
    /// The system bus; as root, falls back to the manager's private socket when no bus daemon
    /// runs (early boot, minimal containers) — what systemctl does.
    case automatic
    case systemBus
    /// systemd's peer-to-peer socket, root only; no bus daemon, no AddRef, no polkit.
    case managerSocket(path: String = "/run/systemd/private")
    /// `[user@]host[:port][/machine]` over ssh, as `systemctl -H`.
    case remote(host: String)
    /// A local container, as `systemctl -M`.
    case machine(name: String)

    public var description: String {
        switch self {
        case .automatic: return "automatic"
        case .systemBus: return "system bus"
        case .managerSocket(let path): return "manager socket \(path)"
        case .remote(let host): return "remote host \(host)"
        case .machine(let name): return "machine \(name)"
        }
    }
}

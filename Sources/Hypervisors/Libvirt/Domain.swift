/// A libvirt domain as listed at one moment: plain values, safe to pass between tasks.
public struct Domain: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable {
        case noState = "nostate", running, blocked, paused
        case shuttingDown = "shutdown", shutOff = "shutoff", crashed, suspended = "pmsuspended"

        init(raw: Int32) {
            let all: [State] = [.noState, .running, .blocked, .paused, .shuttingDown, .shutOff, .crashed, .suspended]
            self = raw >= 0 && Int(raw) < all.count ? all[Int(raw)] : .noState
        }
    }

    public var name: String
    public var uuid: String
    public var state: State
    public var persistent: Bool
    /// The hypervisor's id while running, nil otherwise.
    public var id: UInt32?
}

/// A libvirt version number (major * 1,000,000 + minor * 1,000 + release).
public struct LibvirtVersion: Sendable, Equatable, Comparable, CustomStringConvertible, Codable {
    public var major: Int, minor: Int, release: Int

    public init(major: Int, minor: Int, release: Int) {
        (self.major, self.minor, self.release) = (major, minor, release)
    }

    init(_ packed: UInt) {
        major = Int(packed / 1_000_000)
        minor = Int(packed / 1_000 % 1_000)
        release = Int(packed % 1_000)
    }

    public var description: String { "\(major).\(minor).\(release)" }

    public static func < (a: Self, b: Self) -> Bool {
        (a.major, a.minor, a.release) < (b.major, b.minor, b.release)
    }
}

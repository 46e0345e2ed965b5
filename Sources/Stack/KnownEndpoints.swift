import Core
import Foundation
import Hypervisors

/// The daemons this host's hvctl is configured with: the defaults, hvctl.conf's, and those the
/// command (or the run that started a reaper) was given on its command line. A lease names
/// where its run worked, but a lease is data on disk: a reaper dials only endpoints on this
/// list, compared after normalising, and otherwise reports the lease and leaves it alone. A
/// planted `qemu+ext:///…?command=…` URI would otherwise run its program as root.
public struct KnownEndpoints: Sendable, Equatable {
    public var dockerSockets: Set<String>
    public var libvirtURIs: Set<String>

    public init(_ settings: [DriverSettings]) {
        let all = settings + [DriverSettings()]
        dockerSockets = Set(all.map { Self.socket($0.dockerSocket) })
        libvirtURIs = Set(all.map { Self.uri($0.libvirtURI) })
    }

    /// The configured endpoints `info` names, spelled as configured; or why the lease is
    /// left alone.
    public func resolve(_ info: RunLease.Info) -> Result<(dockerSocket: String, libvirtURI: String), EndpointError> {
        let socket = dockerSockets.first { $0 == Self.socket(info.dockerSocket) }
        let uri = libvirtURIs.first { $0 == Self.uri(info.libvirtURI) }
        if let socket, let uri { return .success((socket, uri)) }
        var unknown: [String] = []
        if socket == nil { unknown.append("Docker socket \(info.dockerSocket)") }
        if uri == nil { unknown.append("libvirt URI \(info.libvirtURI)") }
        return .failure(EndpointError(
            message: "its lease names \(unknown.joined(separator: " and ")), which this host's hvctl is not configured with; hvctl dials nothing a lease alone names (configure it in hvctl.conf, or remove the lease if it is not hvctl's)"))
    }

    public struct EndpointError: Error, Sendable { public var message: String }

    /// A socket path with `.`, `..` and repeated slashes taken out.
    static func socket(_ path: String) -> String { RuntimePaths.normalized(path) }

    static func uri(_ uri: String) -> String { LibvirtURI(uri).normalized }
}

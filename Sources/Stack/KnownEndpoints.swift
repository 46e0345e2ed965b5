import Core
import FoundationEssentials
import Hypervisors

/// The daemons this host's hvctl is configured with: each driver's endpoint under the
/// defaults, hvctl.conf's, and those the command (or the run that started a reaper) was given
/// on its command line. A lease names where its run worked, but a lease is data on disk: a
/// reaper dials only endpoints on this list, compared after the driver normalises them, and
/// otherwise reports the lease and leaves it alone. A planted `qemu+ext:///…?command=…` URI
/// would otherwise run its program as root.
public struct KnownEndpoints: Sendable, Equatable {
    /// By driver: each endpoint normalised → as configured (dialled as configured: a URI's
    /// user part, say, is not the normalised one).
    public var known: [String: [String: String]]

    public init(_ settings: [DriverSettings]) {
        let all = settings + [DriverSettings()]
        known = Drivers.all.mapValues { driver in
            Dictionary(all.compactMap { driver.endpoint($0).map { (driver.normalizedEndpoint($0), $0) } }) { first, _ in first }
        }
    }

    /// The endpoints `info` names, by driver, spelled as configured; or why the lease is left
    /// alone. A
    /// driver this hvctl does not have has nothing to dial, and is passed over.
    public func resolve(_ info: RunLease.Info) -> Result<[String: String], EndpointError> {
        var resolved: [String: String] = [:]
        var unknown: [String] = []
        for (name, endpoint) in info.endpoints.sorted(by: { $0.key < $1.key }) {
            guard let driver = Drivers.all[name] else { continue }
            if let configured = known[name]?[driver.normalizedEndpoint(endpoint)] {
                resolved[name] = configured
            } else {
                unknown.append("\(name) endpoint \(endpoint)")
            }
        }
        guard unknown.isEmpty else {
            return .failure(EndpointError(
                message: "its lease names \(unknown.joined(separator: " and ")), which this host's hvctl is not configured with; hvctl dials nothing a lease alone names (configure it in hvctl.conf, or remove the lease if it is not hvctl's)"))
        }
        return .success(resolved)
    }

    public struct EndpointError: Error, Sendable { public var message: String }
}

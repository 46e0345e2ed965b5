import FoundationEssentials
import Glibc

/// Who may own what hvctl runs, sources or reads instructions and state from: root, the user
/// who invoked hvctl (SUDO_UID under sudo, else the real uid), and the users a root-owned
/// hvctl.conf names in `trusted_users` (a DevStack checkout owned by `stack`, run from
/// hvctl@.service or a root CI job, where there is no SUDO_UID).
///
/// sudo's and OpenSSH's StrictModes rule: anyone else who can change such a file, or any
/// directory on its path, can run code as root through hvctl.
public struct TrustPolicy: Sendable, Equatable {
    public var trustedUIDs: Set<uid_t>

    public init(trustedUIDs: Set<uid_t>) {
        self.trustedUIDs = trustedUIDs.union([0])
    }

    /// Root and the invoking user.
    public static var invoking: TrustPolicy { TrustPolicy(trustedUIDs: [invokingUID]) }

    /// Root alone: what may grant trust to others (`trusted_users` in hvctl.conf).
    public static let rootOnly = TrustPolicy(trustedUIDs: [0])

    /// The user who invoked hvctl: SUDO_UID under sudo, else the real uid.
    public static var invokingUID: uid_t {
        if let raw = ProcessInfo.processInfo.environment["SUDO_UID"], let uid = uid_t(raw) { return uid }
        return getuid()
    }

    public func adding(_ uids: some Sequence<uid_t>) -> TrustPolicy {
        TrustPolicy(trustedUIDs: trustedUIDs.union(uids))
    }

    public func trusts(_ uid: uid_t) -> Bool { trustedUIDs.contains(uid) }

    /// How the owners hvctl accepts read in a message: "root", "root or uid 1000".
    var ownersText: String {
        let others = trustedUIDs.subtracting([0]).sorted().map { "uid \($0)" }
        return (["root"] + others).joined(separator: " or ")
    }
}

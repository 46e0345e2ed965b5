import Foundation

/// A copy of real DevStack (../shared/fixtures/devstack, or $HVCTL_DEVSTACK_TREE) in /tmp of
/// the test host, modes fixed as a checkout's would be, with a local.conf of the test's own,
/// DEST in the fixture's directory and a place for hooks to write what they saw.
public struct DevStackFixture {
    public let root: String
    public var top: String { root + "/devstack" }
    public var dest: String { root + "/dest" }
    public var out: String { root + "/out" }
    public var state: String { root + "/state" }
    public var runtime: String { root + "/run" }

    /// The snapshot a fixture is copied from, nil when there is none on this machine.
    public static func snapshot(_ name: String) -> String? {
        if name == "devstack", let tree = ProcessInfo.processInfo.environment["HVCTL_DEVSTACK_TREE"], !tree.isEmpty {
            return FileManager.default.fileExists(atPath: tree + "/stack.sh") ? tree : nil
        }
        // Tests/TestSupport/DevStackFixture.swift → the package root → ../shared/fixtures.
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = package.deletingLastPathComponent().appendingPathComponent("shared/fixtures/\(name)").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// Why DevStack tests are skipped here, for `.enabled(if:)`.
    public static let available = snapshot("devstack") != nil
    public static let skipReason =
        "needs a DevStack tree: ../shared/fixtures/devstack beside the checkout, or HVCTL_DEVSTACK_TREE"

    /// `localrc`: lines of local.conf's [[local|localrc]] after DEST; `meta`: the rest of
    /// local.conf (meta sections).
    public init(localrc: [String] = [], meta: String = "") throws {
        guard let tree = Self.snapshot("devstack") else { throw FixtureMissing() }
        root = "/tmp/" + uniqueName("hvctl-devstack")
        for dir in [root, dest, out] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            chmod(dir, 0o755)
        }
        try Self.copy(tree, to: top)
        try writeLocalConf(localrc: localrc, meta: meta)
        DevStackFixture.ensureStackUser()
    }

    public func writeLocalConf(localrc: [String], meta: String = "") throws {
        // STACK_USER=root: a root run refuses an untrusted STACK_USER (stackrc's `stack`),
        // whose directories DevStack's code writes into as root. A test may set another.
        let text = (["[[local|localrc]]", "DEST=\(dest)", "ADMIN_PASSWORD=secret", "STACK_USER=root"] + localrc).joined(separator: "\n") + "\n" + meta
        try text.write(toFile: top + "/local.conf", atomically: false, encoding: .utf8)
        chmod(top + "/local.conf", 0o644)
    }

    /// A copy with the modes a checkout has: nothing writable by group or others.
    public static func copy(_ source: String, to target: String) throws {
        let cp = try Witness.run(["cp", "-r", source, target])
        guard cp.status == 0 else { throw FixtureMissing(reason: cp.stderr) }
        try Witness.run(["chmod", "-R", "u+w,go-w", target])
    }

    /// An extras.d hook in the copy.
    public func addHook(_ file: String, _ body: String) throws {
        let path = top + "/extras.d/" + file
        try body.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o644)
    }

    public func read(_ file: String) -> String {
        (try? String(contentsOfFile: out + "/" + file, encoding: .utf8)) ?? ""
    }

    /// The environment hvctl runs with: state, runtime and compute config of the fixture's own.
    public var env: [String: String] {
        ["HVCTL_STATE_DIR": state, "HVCTL_RUNTIME_DIR": runtime, "HVCTL_COMPUTE_CONFIG": root + "/compute.conf"]
    }

    public func remove() { try? FileManager.default.removeItem(atPath: root) }

    /// stackrc makes STACK_USER `stack` for root, and DevStack code asks `id -gn stack` at
    /// source time: the test host gets the user DevStack users have.
    public static func ensureStackUser() {
        if (try? Witness.run(["id", "stack"]))?.status != 0 {
            _ = try? Witness.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "stack"])
        }
    }

    public struct FixtureMissing: Error, CustomStringConvertible {
        public var reason = skipReason
        public var description: String { reason }
        public init(reason: String = skipReason) { self.reason = reason }
    }
}

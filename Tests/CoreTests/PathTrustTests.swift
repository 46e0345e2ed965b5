import Core
import Foundation
import Glibc
import Testing

/// The trust rule on real directories. Owners other than root are made with chown to uids no
/// account has (the test runs as root), so no user has to exist.
@Suite("PathTrust: the trust rule from / down")
struct PathTrustTests {
    let top: String

    init() throws {
        top = "/tmp/hvctl-trust-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: top, withIntermediateDirectories: true)
        chmod(top, 0o755)
    }

    func make(_ relative: String, dir: Bool = false, mode: mode_t = 0o755, owner: uid_t = 0) throws -> String {
        let path = top + "/" + relative
        if dir {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } else {
            try "true\n".write(toFile: path, atomically: false, encoding: .utf8)
        }
        chmod(path, mode)
        chown(path, owner, 0)
        return path
    }

    func problems(_ path: String, _ policy: TrustPolicy = .rootOnly) -> [String] {
        do {
            try PathTrust(policy, purpose: "test").verify(path)
            return []
        } catch let error as TrustError {
            return error.problems.map { "\($0.path) \($0.reason)" }
        } catch {
            return ["\(error)"]
        }
    }

    @Test("a root-owned file in root-owned directories passes and comes back as its physical path")
    func safe() throws {
        defer { try? FileManager.default.removeItem(atPath: top) }
        _ = try make("a", dir: true)
        let file = try make("a/f", mode: 0o644)
        #expect(problems(file).isEmpty)
        #expect(try PathTrust(.rootOnly, purpose: "t").verify(top + "/a/./../a/f") == file)
    }

    @Test("a safe file below a directory another user owns is refused, naming that directory")
    func foreignAncestor() throws {
        defer { try? FileManager.default.removeItem(atPath: top) }
        let mine = try make("user", dir: true, owner: 4242)
        _ = try make("user/extras.d", dir: true)
        let hook = try make("user/extras.d/10-a.sh", mode: 0o644)
        #expect(problems(hook) == ["\(mine) is owned by uid 4242, not root"])
        // Trusted, it passes.
        #expect(problems(hook, TrustPolicy(trustedUIDs: [4242])).isEmpty)
    }

    @Test("group- or world-writable directories anywhere on the path are refused; a root-owned sticky one is not")
    func writableAncestors() throws {
        defer { try? FileManager.default.removeItem(atPath: top) }
        let open = try make("open", dir: true, mode: 0o777)
        let file = try make("open/f", mode: 0o644)
        #expect(problems(file) == ["\(open) is writable by others (mode 0777)"])
        let group = try make("group", dir: true, mode: 0o775)
        let g = try make("group/f", mode: 0o644)
        #expect(problems(g) == ["\(group) is writable by its group (mode 0775)"])
        // /tmp-like: root-owned and sticky, fine on the way for entries root owns ...
        _ = try make("sticky", dir: true, mode: 0o1777)
        let ok = try make("sticky/f", mode: 0o644)
        #expect(problems(ok).isEmpty)
        // ... not for an entry someone else owns, and never as the final directory.
        let theirs = try make("sticky/theirs", mode: 0o644, owner: 4242)
        #expect(problems(theirs) == ["\(theirs) is owned by uid 4242, not root"])
        #expect(problems(top + "/sticky") == ["\(top)/sticky is writable by others (mode 01777)"])
    }

    @Test("a symlink is followed and its target held to the rule")
    func symlinks() throws {
        defer { try? FileManager.default.removeItem(atPath: top) }
        let bad = try make("bad", dir: true, mode: 0o757)
        let target = try make("bad/f", mode: 0o644)
        try FileManager.default.createSymbolicLink(atPath: top + "/link", withDestinationPath: "bad/f")
        #expect(problems(top + "/link") == ["\(bad) is writable by others (mode 0757)"])
        _ = try make("good", dir: true)
        let real = try make("good/f", mode: 0o644)
        try FileManager.default.createSymbolicLink(atPath: top + "/link2", withDestinationPath: real)
        #expect(try PathTrust(.rootOnly, purpose: "t").verify(top + "/link2") == real)
        _ = target
        // A link another user owns in a sticky directory could lead anywhere later.
        _ = try make("st", dir: true, mode: 0o1777)
        try FileManager.default.createSymbolicLink(atPath: top + "/st/l", withDestinationPath: real)
        lchown(top + "/st/l", 4242, 0)
        #expect(problems(top + "/st/l").first?.contains("is a symlink owned by uid 4242") == true)
    }

    @Test("a tree is checked at every depth and every problem is named in one sorted line, five and a count")
    func tree() throws {
        defer { try? FileManager.default.removeItem(atPath: top) }
        _ = try make("lib/a/b/c", dir: true)
        for i in 0..<7 { _ = try make("lib/a/b/c/f\(i)", mode: 0o666) }
        _ = try make("lib/ok", mode: 0o644)
        do {
            try PathTrust(.rootOnly, purpose: "run hooks").verifyTree(top + "/lib")
            Issue.record("an unsafe tree passed")
        } catch let error as TrustError {
            let text = error.description
            #expect(error.problems.count == 7)
            #expect(text.hasPrefix("refusing to run hooks: 7 unsafe paths: \(top)/lib/a/b/c/f0 is writable by others (mode 0666);"))
            #expect(text.contains("f4 is writable") && !text.contains("f5 is writable") && text.contains(" and 2 more;"))
            #expect(!text.contains("\n"))
        }
        for i in 0..<7 { chmod(top + "/lib/a/b/c/f\(i)", 0o644) }
        #expect(try PathTrust(.rootOnly, purpose: "t").verifyTree(top + "/lib") == top + "/lib")
    }

    @Test("a missing path is an error that names it, and a prefix that exists can be checked alone")
    func missing() throws {
        defer { try? FileManager.default.removeItem(atPath: top) }
        #expect(throws: TrustError.self) { try PathTrust(.rootOnly, purpose: "t").verify(top + "/nope/x") }
        try PathTrust(.rootOnly, purpose: "t").verifyExistingPrefix(top + "/nope/x")
        let theirs = try make("theirs", dir: true, owner: 4242)
        #expect(throws: TrustError.self) { try PathTrust(.rootOnly, purpose: "t").verifyExistingPrefix(theirs + "/state") }
    }
}

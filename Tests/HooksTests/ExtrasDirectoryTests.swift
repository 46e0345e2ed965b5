import Core
import Foundation
import Hooks
import Systemd
import TestSupport
import Testing

@Suite("extras.d names, order and safety")
struct ExtrasDirectoryTests {
    @Test("file names", arguments: [
        ("20-foo.sh", HookName.Verdict.hook(order: 20, name: "foo")),
        ("10-a.b_c-d.sh", .hook(order: 10, name: "a.b_c-d")),
        ("89-x.sh", .hook(order: 89, name: "x")),
        ("05-x.sh", .reserved(order: 5)),
        ("00-x.sh", .reserved(order: 0)),
        ("90-x.sh", .reserved(order: 90)),
        ("99-x.sh", .reserved(order: 99)),
    ])
    func names(file: String, verdict: HookName.Verdict) {
        #expect(HookName.classify(file) == verdict)
    }

    @Test("malformed .sh names", arguments: ["1-x.sh", "ab-x.sh", "x.sh", "20-.sh", "20-a b.sh", "20_x.sh", "20-x;y.sh", "200-x.sh", "20-ü.sh"])
    func malformed(file: String) {
        guard case .malformed = HookName.classify(file) else {
            Issue.record("\(file) should be malformed")
            return
        }
    }

    @Test("order: the prefix, then the name bytewise; other files ignored with a reason")
    func order() throws {
        let f = try HookFixture()
        defer { f.remove() }
        for file in ["20-b.sh", "20-a.sh", "10-z.sh", "20-a-b.sh", "89-x.sh", "20-A.sh", "20-a.sh.orig", "README", ".20-hidden.sh"] {
            try f.add(file, "true\n")
        }
        let contents = try ExtrasDirectory(path: f.extras).scan()
        #expect(contents.hooks.map(\.file) == ["10-z.sh", "20-A.sh", "20-a.sh", "20-a-b.sh", "20-b.sh", "89-x.sh"])
        #expect(contents.hooks.allSatisfy { $0.path == f.extras + "/" + $0.file })
        #expect(contents.ignored.map(\.file) == [".20-hidden.sh", "20-a.sh.orig", "README"])
        #expect(contents.ignored.allSatisfy { !$0.reason.isEmpty })
    }

    @Test("a relative directory is taken from the current directory")
    func relative() throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-a.sh", "true\n")
        let saved = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(f.top)
        defer { FileManager.default.changeCurrentDirectoryPath(saved) }
        let dir = ExtrasDirectory(path: "extras.d")
        #expect(dir.path == f.extras)
        #expect(dir.defaultTopDir == f.top)
        #expect(try dir.scan().hooks.first?.path == f.extras + "/20-a.sh")
    }

    /// Each bad entry, alone in an otherwise good directory, stops the scan naming the file.
    @Test("entries that stop everything before any hook runs", arguments: [
        "malformed", "reserved-low", "reserved-high", "directory", "dangling", "fifo",
        "group-writable", "world-writable", "foreign-owner", "unsafe-dir", "missing-dir",
    ])
    func refusals(kind: String) throws {
        let f = try HookFixture()
        defer { f.remove() }
        try f.add("20-good.sh", "true\n")
        var culprit = f.extras
        switch kind {
        case "malformed": culprit += "/2-bad.sh"; try f.add("2-bad.sh", "true\n")
        case "reserved-low": culprit += "/05-mine.sh"; try f.add("05-mine.sh", "true\n")
        case "reserved-high": culprit += "/95-mine.sh"; try f.add("95-mine.sh", "true\n")
        case "directory": culprit += "/30-dir.sh"; mkdir(culprit, 0o755)
        case "dangling": culprit += "/30-link.sh"; symlink("/nonexistent/target", culprit)
        case "fifo": culprit += "/30-fifo.sh"; mkfifo(culprit, 0o644)
        case "group-writable": culprit += "/30-gw.sh"; try f.add("30-gw.sh", "true\n", mode: 0o664)
        case "world-writable": culprit += "/30-ww.sh"; try f.add("30-ww.sh", "true\n", mode: 0o646)
        case "foreign-owner": culprit += "/30-theirs.sh"; try f.add("30-theirs.sh", "true\n"); chown(culprit, 4242, 4242)
        case "unsafe-dir": chmod(f.extras, 0o777)
        case "missing-dir": culprit = f.top + "/nope"
        default: Issue.record("unknown case \(kind)")
        }
        let dir = ExtrasDirectory(path: kind == "missing-dir" ? culprit : f.extras)
        do {
            _ = try dir.scan()
            Issue.record("\(kind): the scan should have failed")
        } catch {
            #expect(error is HookError || error is TrustError, "\(kind): \(error)")
            #expect("\(error)".contains(culprit), "\(kind): \(error)")
            #expect(!"\(error)".contains("\n"))
        }
    }

    @Test("an unsafe file or directory anywhere in TOP_DIR/lib is refused too, with the hooks' problems in one line")
    func unsafeLibrary() throws {
        let f = try HookFixture()
        defer { f.remove() }
        let deep = f.top + "/lib/plugins/inner"
        try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
        for d in [f.top + "/lib", f.top + "/lib/plugins", deep] { chmod(d, 0o755) }
        try f.add("myplugin", "true\n", in: deep)
        try f.add("20-good.sh", "true\n")
        #expect(try ExtrasDirectory(path: f.extras).scan(topDir: f.top).hooks.count == 1)
        chmod(deep + "/myplugin", 0o666)
        chmod(f.top + "/lib/plugins", 0o777)
        try f.add("30-bad.sh", "true\n", mode: 0o646)
        do {
            _ = try ExtrasDirectory(path: f.extras).scan(topDir: f.top)
            Issue.record("an unsafe lib/ passed")
        } catch let error as TrustError {
            // Sorted: the hook under extras.d, then lib/plugins; myplugin is not reached
            // through a directory that already failed.
            #expect(error.problems.map(\.path) == [f.extras + "/30-bad.sh", f.top + "/lib/plugins"])
            #expect("\(error)".contains("2 unsafe paths"))
        }
        chmod(f.top, 0o777)
        #expect(throws: TrustError.self) { try ExtrasDirectory(path: f.extras).checkTopDir(f.top) }
    }

    @Test("calls and their arguments")
    func calls() throws {
        #expect(try HookCall(mode: "stack", phase: "pre-install").arguments == ["stack", "pre-install"])
        #expect(try HookCall(mode: "stack", phase: "test-config") == .stack(.testConfig))
        #expect(try HookCall(mode: "unstack", phase: nil).arguments == ["unstack"])
        #expect(try HookCall(mode: "clean", phase: nil).phase == "clean")
        #expect(throws: HookError.self) { try HookCall(mode: "stack", phase: nil) }
        #expect(throws: HookError.self) { try HookCall(mode: "stack", phase: "boot") }
        #expect(throws: HookError.self) { try HookCall(mode: "unstack", phase: "install") }
        #expect(throws: HookError.self) { try HookCall(mode: "source", phase: nil) }
    }

    @Test("run ids are valid unit-name material")
    func runIDs() {
        let ids = (0..<100).map { _ in RunID.generate() }
        #expect(Set(ids).count == 100)
        #expect(ids.allSatisfy { RunID($0.value) == $0 && $0.value.count == 10 })
        #expect(RunID("Bad-ID") == nil)
        #expect(RunID("") == nil)
    }
}

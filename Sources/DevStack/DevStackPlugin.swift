import Core
import Foundation
import Glibc
import Hooks

/// A plugin enabled with `enable_plugin NAME URL [REF]`, at its checkout ($DEST/NAME, as
/// DevStack's GITDIR has it). Its devstack/override-defaults, devstack/settings and
/// devstack/plugin.sh run as units of their own, after extras.d's hooks, in registration order.
public struct DevStackPlugin: Sendable, Equatable, Codable {
    public var name: String
    public var url: String
    public var branch: String
    /// The checkout, physical.
    public var directory: String
    /// Packages its devstack/files/debs lists, in file order; reported, and installed with
    /// --install-packages.
    public var packages: [String]
    /// true when hvctl cloned it in this run.
    public var cloned = false

    public var hook: Hook { .plugin(name, devstackDirectory: directory + "/devstack") }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first != UInt8(ascii: "."), first != UInt8(ascii: "-"), name.utf8.count <= 100 else { return false }
        return name.utf8.allSatisfy {
            ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 || $0 == 45 || $0 == 46
        }
    }

    /// The plugin's checkout, cloned with git when it is missing, then held to the trust rule
    /// (every file in it runs as the hooks' user, root by default). `timeout` bounds the clone.
    public static func fetch(_ entry: DevStackSettings.PluginEntry, trust: PathTrust, timeout: Duration = .seconds(600)) async throws -> DevStackPlugin {
        guard isValidName(entry.name) else { throw DevStackError.badPluginName(entry.name) }
        let directory = RuntimePaths.normalized(entry.directory)
        var cloned = false
        var st = stat()
        if lstat(directory, &st) != 0 {
            let parent = (directory as NSString).deletingLastPathComponent
            // Never clone into a place someone else controls: the checkout would be theirs.
            try trust.verifyExistingPrefix(parent)
            if lstat(parent, &st) != 0 {
                guard mkdir(parent, 0o755) == 0 || errno == EEXIST else {
                    throw DevStackError.pluginMissing(
                        name: entry.name, url: entry.url, directory: directory, reason: "cannot create \(parent): \(String(cString: strerror(errno)))")
                }
            }
            try trust.verify(parent, as: .directory)
            try await clone(entry, into: directory, timeout: timeout)
            cloned = true
        }
        let physical = try trust.verifyTree(directory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: physical + "/devstack", isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DevStackError.pluginNotAPlugin(name: entry.name, directory: physical)
        }
        return DevStackPlugin(
            name: entry.name, url: entry.url, branch: entry.branch, directory: physical,
            packages: packages(in: physical + "/devstack/files/debs"), cloned: cloned)
    }

    /// `git clone --branch REF URL DIR`, bounded, never prompting; a failure names git's reason.
    static func clone(_ entry: DevStackSettings.PluginEntry, into directory: String, timeout: Duration) async throws {
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        var arguments = ["clone", "--quiet"]
        if !entry.branch.isEmpty { arguments += ["--branch", entry.branch] }
        git.arguments = arguments + ["--", entry.url, directory]
        git.environment = ["PATH": "/usr/bin:/bin", "GIT_TERMINAL_PROMPT": "0", "HOME": "/nonexistent", "LC_ALL": "C"]
        let errors = Pipe()
        git.standardError = errors
        git.standardOutput = FileHandle.nullDevice
        git.standardInput = FileHandle.nullDevice
        do {
            try git.run()
        } catch {
            throw DevStackError.pluginMissing(name: entry.name, url: entry.url, directory: directory, reason: "git cannot run: \(error)")
        }
        // Polled, not waited for on a thread: a hung clone (a URL that never answers) is killed.
        let clock = ContinuousClock()
        let end = clock.now + timeout
        var finished = true
        while git.isRunning {
            if clock.now > end {
                git.terminate()
                finished = false
                break
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        git.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        guard finished, git.terminationStatus == 0 else {
            // Half a clone would be taken for the plugin by the next run.
            try? FileManager.default.removeItem(atPath: directory)
            let reason = finished ? (message.isEmpty ? "git exited \(git.terminationStatus)" : message) : "git took longer than \(timeout)"
            throw DevStackError.pluginMissing(name: entry.name, url: entry.url, directory: directory, reason: reason)
        }
    }

    /// The first word of every line that is not a comment, from every file in files/debs.
    public static func packages(in directory: String) -> [String] {
        guard let names = try? DirectoryListing.names(of: directory) else { return [] }
        var packages: [String] = []
        for name in names.sorted() {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { continue }
            for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
                let text = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                if let word = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).first, !packages.contains(String(word)) {
                    packages.append(String(word))
                }
            }
        }
        return packages
    }
}

import Core
import FoundationEssentials
import Glibc
import Hooks
import Systemd
import SystemPackage

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
    /// (every file in it runs as the hooks' user, root by default). The clone is a unit of its
    /// own, `hvctl-RUN-clone-NAME.service`, as the hooks' user: with --user, that user's
    /// shell wrote the settings naming URL and directory, so root never clones to them.
    public static func fetch(_ entry: DevStackSettings.PluginEntry, trust: PathTrust, runner: HookRunner) async throws -> DevStackPlugin {
        guard isValidName(entry.name) else { throw DevStackError.badPluginName(entry.name) }
        let directory = RuntimePaths.normalized(entry.directory)
        var cloned = false
        var st = stat()
        if lstat(directory, &st) != 0 {
            let parent = PathName.parent(of: directory)
            // Never clone into a place someone else controls: the checkout would be theirs.
            try trust.verifyExistingPrefix(parent)
            if lstat(parent, &st) != 0 && runner.options.user == nil {
                // stack.sh makes $DEST when it is missing; as root, so does hvctl.
                guard mkdir(parent, 0o755) == 0 || errno == EEXIST else {
                    throw DevStackError.pluginMissing(
                        name: entry.name, url: entry.url, directory: directory, reason: "cannot create \(parent): \(Errno.current.description)")
                }
            }
            try trust.verify(parent, as: .directory)
            try await clone(entry, into: directory, runner: runner)
            cloned = true
        }
        let physical = try trust.verifyTree(directory)
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: physical + "/devstack", isDirectory: &isDirectory), isDirectory else {
            throw DevStackError.pluginNotAPlugin(name: entry.name, directory: physical)
        }
        // A --user run's checkout is that user's: root reads nothing of it (and installs none
        // of what it lists).
        return DevStackPlugin(
            name: entry.name, url: entry.url, branch: entry.branch, directory: physical,
            packages: runner.options.user == nil ? packages(in: physical + "/devstack/files/debs") : [], cloned: cloned)
    }

    /// `git clone --branch REF URL DIR`, bounded, never prompting; a failure names git's reason.
    static func clone(_ entry: DevStackSettings.PluginEntry, into directory: String, runner: HookRunner) async throws {
        var arguments = ["/usr/bin/git", "clone", "--quiet"]
        if !entry.branch.isEmpty { arguments += ["--branch", entry.branch] }
        var service = TransientService(name: "hvctl-\(runner.options.run)-clone-\(entry.name).service", command: arguments + ["--", entry.url, directory])
        service.description = "hvctl: clone DevStack plugin \(entry.name) from \(entry.url)"
        service.environment = ["GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"]
        service.workingDirectory = "/"
        service.slice = runner.options.slice
        service.runtimeMax = .seconds(600)
        service.syslogIdentifier = "clone:\(entry.name)"
        service.logExtraFields = ["HVCTL_RUN": runner.options.run.value]
        service.user = runner.options.user
        let result: TransientResult
        do {
            result = try await runner.manager.run(service)
        } catch {
            throw DevStackError.pluginMissing(name: entry.name, url: entry.url, directory: directory, reason: "\(error)")
        }
        guard result.succeeded else {
            let last = (try? await HookLog.lastLines(of: service.name, count: 1))?.last
            // Half a clone would be taken for the plugin by the next run. Root removes only
            // its own: a --user clone is that user's directory to swap links into.
            var st = stat()
            if runner.options.user == nil, lstat(directory, &st) == 0, st.st_mode & S_IFMT == S_IFDIR {
                try? FileManager.default.removeItem(atPath: directory)
            }
            throw DevStackError.pluginMissing(
                name: entry.name, url: entry.url, directory: directory, reason: last ?? "git exited \(result.exitStatus)")
        }
    }

    /// The first word of every line that is not a comment, from every file in files/debs:
    /// regular files of at most 64 KiB, never through a link, words that are package names.
    public static func packages(in directory: String) -> [String] {
        guard let names = try? DirectoryListing.names(of: directory) else { return [] }
        var packages: [String] = []
        for name in names.sorted() {
            guard let text = smallFile(directory + "/" + name, limit: 64 << 10) else { continue }
            for line in text.split(whereSeparator: \.isNewline) {
                let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                guard let word = content.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init),
                    isPackageName(word), !packages.contains(word)
                else { continue }
                packages.append(word)
            }
        }
        return packages
    }

    /// Debian's rule: lower-case letters, digits, + - . (an arch suffix after ':').
    static func isPackageName(_ word: String) -> Bool {
        guard let first = word.utf8.first, (first >= 97 && first <= 122) || (first >= 48 && first <= 57), word.utf8.count <= 128 else { return false }
        return word.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 43 || $0 == 45 || $0 == 46 || $0 == 58 }
    }

    static func smallFile(_ path: String, limit: Int) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size <= limit else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { return nil }
        return String(decoding: bytes.prefix(n), as: UTF8.self)
    }
}

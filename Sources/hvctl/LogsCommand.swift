import ArgumentParser
import FoundationEssentials
import Glibc
import Hypervisors
import Stack
import Systemd
import SystemPackage

struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show hook and hypervisor logs from the journal.",
        discussion: """
            Without a driver: the hook output of the latest run, in order, each line prefixed \
            with its hook and phase. Selectors apply within that run unless --run or \
            --all-runs is given. With a driver (hvctl logs docker): its daemon's unit and \
            hvctl's own entries about it.

            Times (--since, --until) are absolute ("2026-11-24 22:00", "22:00", "today", \
            "yesterday") or relative ("-1h", "-30min", "-10s").

            Examples:
              hvctl logs
              hvctl logs --hook 20-foo --phase install -n 50
              hvctl logs -f                       # follow the running run until it ends
              hvctl logs --all-runs --since -1h -g 'ERROR|WARN'
              hvctl logs -o json --show-cursor     # then --after-cursor CURSOR next time
              hvctl logs --run 3f9a0c1d2e --export artifacts/
            """
    )

    @Argument(help: "A driver (docker, libvirt, fake): its daemon's logs instead of hooks.")
    var driver: String?

    @Option(help: "The run to show (as printed by hvctl hooks run).") var run: String?
    @Flag(help: "Every run's hook output.") var allRuns = false
    @Option(help: "Only this hook (20-foo.sh or 20-foo).") var hook: String?
    @Option(help: "Only this phase (pre-install, install, post-config, extra, test-config, unstack, clean).") var phase: String?
    @Option(help: "The lines of this unit instead.") var unit: String?
    // Unconditional, so `-n -5` reaches validate() and is refused as a count rather than
    // mistaken for an option.
    @Option(name: [.customShort("n"), .long], parsing: .unconditional, help: "Only the last N lines.") var lines: Int?
    @Option(parsing: .unconditional, help: "Lines at or after this time.") var since: String?
    @Option(parsing: .unconditional, help: "Lines at or before this time.") var until: String?
    @Option(name: .shortAndLong, help: "This priority and more urgent: 0-7 or emerg, alert, crit, err, warning, notice, info, debug.") var priority: String?
    @Option(name: [.customShort("g"), .long], help: "Lines whose message matches this regular expression.") var grep: String?
    @Flag(name: .shortAndLong, help: "Keep showing new lines; for a run, until the run ends.") var follow = false
    @Option(name: .shortAndLong, help: "short, short-precise, json or cat.") var output: String = "short"
    @Flag(help: "Print a cursor to resume after with --after-cursor: nothing shown is repeated, nothing new is missed.") var showCursor = false
    @Option(help: "Start after the line with this cursor.") var afterCursor: String?
    @Option(help: ArgumentHelp("Write the run's logs to this directory: a text file per hook unit and the raw entries in journal export format.", valueName: "dir"))
    var export: String?

    func validate() throws {
        if run != nil && allRuns { throw ValidationError("--run and --all-runs exclude each other") }
        if driver != nil && (run != nil || allRuns || hook != nil) {
            throw ValidationError("a driver's logs take no --run, --all-runs or --hook")
        }
        if let driver {
            // A script driver's too: `hvctl logs openvz` shows its verbs' output.
            let scripts = DriverSession.scriptDrivers(config: (try? Invocation.config()) ?? HostConfig(), environment: ProcessInfo.processInfo.environment)
            do { _ = try Drivers.named(driver, scripts: scripts) } catch { throw ValidationError("\(error)") }
        }
        if let priority { _ = try Self.level(priority) }
        if let lines, lines < 0 { throw ValidationError("-n takes a number of lines, 0 or more") }
        if LogFormat(rawValue: output) == nil {
            throw ValidationError("invalid output '\(output)': use short, short-precise, json or cat")
        }
        // Selectors become journal matches and name units: refuse what cannot select
        // anything instead of quietly showing nothing.
        if let run, RunID(run) == nil {
            throw ValidationError("invalid --run '\(run)': a run id is 1 to 32 lower-case letters, digits and '_', as hvctl prints it")
        }
        if let unit, let problem = UnitName.problem(with: unit) {
            throw ValidationError("invalid --unit '\(unit)': \(problem)")
        }
        if let hook, !LogQuery.isHookName(hook) {
            throw ValidationError("invalid --hook '\(hook)': expected a hook's file name, NN-name.sh or NN-name")
        }
        if let phase, !LogQuery.phases.contains(phase) {
            throw ValidationError("invalid --phase '\(phase)': use \(LogQuery.phases.joined(separator: ", "))")
        }
        if let afterCursor, !LogQuery.isCursor(afterCursor) {
            throw ValidationError("invalid --after-cursor '\(afterCursor)': not a journal cursor; use one printed by --show-cursor")
        }
    }

    func run() async throws {
        let query = try makeQuery()
        let format = LogFormat(rawValue: output)!
        try await cancellingOnInterrupt {
            var reader = try await LogReader.open(query, format: export != nil ? .shortPrecise : format, follow: follow)
            if let export {
                try Self.prepareExportDirectory(export)
                let lines = try await reader.readAll()
                let summary = try LogExport.write(lines, raw: try await reader.rawEntries(), run: reader.run, to: export)
                say("exported \(summary.entries) entries of \(reader.run.map { "run \($0)" } ?? "the selection") to \(export): \(summary.files.joined(separator: ", "))")
                return
            }
            var formatter = LogFormatter(format: format)
            var out = StandardOutput()
            func emit(_ lines: [LogLine]) {
                for line in lines {
                    formatter.append(line, to: &out.buffer)
                    out.flushIfFull()
                }
            }
            if query.lines != nil {
                emit(try await reader.readAll())
            } else {
                while true {
                    let batch = try await reader.read()
                    if batch.isEmpty { break }
                    emit(batch)
                }
            }
            out.flush()
            // A run's follower ends with the run: at its end marker, or — a run that died with
            // nobody to write one — once it has not been going for a second.
            var goneSince: ContinuousClock.Instant?
            while follow && !(query.isRunScope && reader.runEnded) && !Task.isCancelled {
                try await reader.waitForMore(.milliseconds(250))
                while true {
                    let batch = try await reader.read()
                    if batch.isEmpty { break }
                    emit(batch)
                }
                out.flush()
                guard query.isRunScope, !reader.runEnded else { continue }
                if reader.runGoing {
                    goneSince = nil
                } else if let since = goneSince, ContinuousClock.now - since > .seconds(1) {
                    note("run \(reader.run ?? "?") is no longer going and wrote no end: it died unfinished (see `journalctl -t hvctl-reaper`)")
                    break
                } else if goneSince == nil {
                    goneSince = .now
                }
            }
            if showCursor, let cursor = reader.lastCursor { say("-- cursor: \(cursor)") }
        }
    }

    /// The export directory, made if missing, before anything is written to it; the error
    /// says why in one line (Foundation's own is an NSError dump).
    static func prepareExportDirectory(_ path: String) throws {
        var isDirectory = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory else { throw LogError.exportUnwritable(path, reason: "it exists and is not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            let underlying = (error as? CocoaError)?.underlying as? POSIXError
            throw LogError.exportUnwritable(path, reason: underlying.map { Errno(rawValue: $0.code.rawValue).description } ?? "\(error)")
        }
    }

    private func makeQuery() throws -> LogQuery {
        var q = LogQuery()
        if let driver {
            q.scope = .driver(name: driver, units: Drivers.all[driver]?.logUnits ?? [])
        } else if let unit {
            q.scope = .unit(unit)
        } else if let run {
            q.scope = .run(run)
        } else if allRuns {
            q.scope = .allRuns
        }
        q.hook = hook
        q.phase = phase
        q.lines = lines
        q.since = try since.map { try LogTime.parse($0) }
        q.until = try until.map { try LogTime.parse($0) }
        q.pattern = grep
        q.afterCursor = afterCursor
        q.maxPriority = try priority.map(Self.level)
        return q
    }

    static func level(_ priority: String) throws -> Int {
        let names = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]
        guard let level = Int(priority) ?? names.firstIndex(of: priority), (0...7).contains(level) else {
            throw ValidationError("invalid priority '\(priority)': use 0-7 or \(names.joined(separator: ", "))")
        }
        return level
    }
}

/// Buffered bytes to fd 1, written in large chunks.
struct StandardOutput {
    var buffer: [UInt8] = []

    mutating func flushIfFull() {
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Glibc.write(1, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    // The reader went away (`hvctl logs | head`): stop as quietly as SIGPIPE would.
                    if errno == EPIPE { exit(0) }
                    return
                }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

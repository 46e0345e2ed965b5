import Foundation

/// `hvctl logs` of a run with N lines beside `journalctl` with the equivalent match, both
/// to /dev/null.
struct LogsBenchmark {
    var lines: Int
    var hvctl: String

    func run() throws {
        let fixture = try BenchExtras("logs")
        defer { fixture.remove() }
        let extras = fixture.extras
        try fixture.add("20-lines.sh", #"[[ "$1" == source ]] || seq 1 \#(lines)"#)
        let report = try capture(hvctl, ["hooks", "run", "stack", "install", "--extras-dir", extras, "-o", "json"])
        guard let object = try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any],
            let run = object["run"] as? String, let unit = (object["hooks"] as? [[String: Any]])?.first?["unit"] as? String
        else { throw BenchmarkError("no run id from hvctl hooks run") }
        // Let journald write the last lines before measuring.
        Thread.sleep(forTimeInterval: 1)

        func best(_ body: () throws -> Void) throws -> Double {
            var times: [Double] = []
            for _ in 0..<7 { times.append(milliseconds(try ContinuousClock().measure(body))) }
            return times.min()!
        }
        var rows: [String] = []
        var ratios: [String] = []
        for format in ["short", "cat", "json"] {
            let h = try best { try runProgram(hvctl, ["logs", "--run", run, "-o", format]) }
            let j = try best {
                try runProgram("/usr/bin/journalctl", ["--no-pager", "-o", format, "_SYSTEMD_UNIT=\(unit)", "+", "HVCTL_RUN=\(run)"])
            }
            rows.append(String(format: "  -o %-6@ hvctl logs %6.0f ms   journalctl %6.0f ms   ratio %.2f", format as NSString, h, j, h / j))
            ratios.append(String(format: "%.2f", h / j))
        }
        out("logs of a run with \(lines) lines, to /dev/null (best of 7):")
        rows.forEach(out)
        out("  target: ratio <= 1.0")
    }
}

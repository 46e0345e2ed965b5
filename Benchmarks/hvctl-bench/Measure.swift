import Foundation

func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

/// Runs a program to completion; a failure aborts the benchmark (its figures would lie).
func runProgram(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw BenchmarkError("\(path) \(arguments.joined(separator: " ")) exited \(p.terminationStatus)")
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func row(_ label: String, _ total: Duration, per count: Int, unit: String) -> String {
    "  " + label.padding(toLength: 44, withPad: " ", startingAt: 0)
        + String(format: " %7.2f ms/", milliseconds(total) / Double(count)) + unit
        + String(format: "  (%.0f ms total)", milliseconds(total))
}

func ratioRow(_ label: String, _ ratio: Double, target: String) -> String {
    "  " + label.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: " %7.2fx faster", ratio) + "  (target: \(target))"
}

/// A line to stdout, unbuffered: figures appear as they are measured.
func out(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

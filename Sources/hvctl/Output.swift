import Core
import FoundationEssentials

// How commands write: each line goes out whole and at once, unbuffered, so progress shows as
// it happens even through a pipe, and stdout (a command's answer) never mixes with stderr
// (what hvctl says along the way).

/// One line to stdout.
func say(_ line: String) {
    StandardStream.output.write(line + "\n")
}

/// One line on stderr: progress that should not mix with a command's output.
func note(_ line: String) {
    StandardStream.error.write("hvctl: \(line)\n")
}

/// `value` as sorted, indented JSON on stdout: what `-o json` prints.
func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    if let data = try? encoder.encode(value) { say(String(decoding: data, as: UTF8.self)) }
}

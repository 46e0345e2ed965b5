// hvctl-bench: figures for hvctl's hot paths, printed, never asserted (timed tests flake).
// Run inside a booted systemd host: `make bench`. Optional argument: how many units/hooks (100).
import Foundation
import Systemd


let count = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 100
do {
    try await TransientUnitsBenchmark(count: count).run()
    out("")
    let hooks = HooksBenchmark(count: count)
    try hooks.run()
    out("")
    try DockerBenchmark(count: count, hvctl: hooks.hvctl).run()
} catch {
    FileHandle.standardError.write(Data("hvctl-bench: \(error)\n".utf8))
    exit(1)
}

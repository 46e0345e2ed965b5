// hvctl-bench: figures for hvctl's hot paths, printed, never asserted (timed tests flake).
// Run inside a booted systemd host: `make bench`. Optional argument: how many units/hooks (100).
import Foundation
import Systemd

let count = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 100
try await TransientUnitsBenchmark(count: count).run()
print("")
try HooksBenchmark(count: count).run()

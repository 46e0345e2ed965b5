// hvctl-bench: figures for hvctl's hot paths, printed, never asserted (timed tests flake).
// Run inside a booted systemd host: `make bench`. Optional argument: how many units/hooks (100).
import Foundation
import Systemd


let count = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 100
let only = ProcessInfo.processInfo.environment["HVCTL_BENCH_ONLY"]  // e.g. "logs", to run one part
// Podman's networks need a network backend in the test host: instances use none.
let podman = DockerBenchmark(count: count, hvctl: HooksBenchmark(count: count).hvctl, driver: "podman", cli: "/usr/bin/podman", networks: ["none"])
do {
    if only == "logs" {
        try LogsBenchmark(lines: 1000 * count, hvctl: HooksBenchmark(count: count).hvctl).run()
        exit(0)
    }
    if only == "switch" {
        try SwitchBenchmark(hvctl: HooksBenchmark(count: count).hvctl).run()
        exit(0)
    }
    if only == "cleanup" {
        try CleanupBenchmark(hvctl: HooksBenchmark(count: count).hvctl).run()
        exit(0)
    }
    if only == "docker" {
        try DockerBenchmark(count: count, hvctl: HooksBenchmark(count: count).hvctl).run()
        exit(0)
    }
    if only == "podman" {
        try podman.run()
        exit(0)
    }
    if only == "devstack" {
        try DevStackHooksBenchmark(count: count, hvctl: HooksBenchmark(count: count).hvctl).run()
        exit(0)
    }
    if only == "instances" {
        try InstanceBenchmark(hvctl: HooksBenchmark(count: count).hvctl).run()
        exit(0)
    }
    if only == "libvirt" {
        try LibvirtBenchmark(count: 30, hvctl: HooksBenchmark(count: count).hvctl).run()
        exit(0)
    }
    try await TransientUnitsBenchmark(count: count).run()
    out("")
    let hooks = HooksBenchmark(count: count)
    try hooks.run()
    out("")
    try DevStackHooksBenchmark(count: count, hvctl: hooks.hvctl).run()
    out("")
    try DockerBenchmark(count: count, hvctl: hooks.hvctl).run()
    out("")
    try podman.run()
    out("")
    try LogsBenchmark(lines: 1000 * count, hvctl: hooks.hvctl).run()
    out("")
    try LibvirtBenchmark(count: 30, hvctl: hooks.hvctl).run()
    out("")
    try InstanceBenchmark(hvctl: hooks.hvctl).run()
    out("")
    try SwitchBenchmark(hvctl: hooks.hvctl).run()
    out("")
    try CleanupBenchmark(hvctl: hooks.hvctl).run()
} catch {
    FileHandle.standardError.write(Data("hvctl-bench: \(error)\n".utf8))
    exit(1)
}

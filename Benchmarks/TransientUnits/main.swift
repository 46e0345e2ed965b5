// hvctl-bench: figures for hvctl's hot paths, printed, never asserted (timed tests flake).
//
// Figure 1: N no-op transient services run one after another through the Systemd module
// (StartTransientUnit, wait for the oneshot to finish, read its result), beside N
// `systemd-run --wait --collect /bin/true` commands doing the same through the CLI.
// Run inside a booted systemd host: `make bench`.
import Foundation
import Systemd

let count = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 100

func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

func runModule(_ manager: SystemdManager, prefix: String, count: Int) async throws -> Duration {
    let clock = ContinuousClock()
    return try await clock.measure {
        for i in 0..<count {
            var service = TransientService(name: "hvctl-bench-\(prefix)-\(i).service", command: ["/bin/true"])
            service.slice = "hvctl.slice"
            let result = try await manager.run(service, waitLimit: .seconds(30))
            guard result.succeeded else { fatalError("bench unit \(service.name) ended \(result.result)") }
        }
    }
}

func runCLI(count: Int) throws -> Duration {
    let clock = ContinuousClock()
    return try clock.measure {
        for _ in 0..<count {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-run")
            p.arguments = ["--wait", "--collect", "--quiet", "--slice=hvctl.slice", "/bin/true"]
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { fatalError("systemd-run exited \(p.terminationStatus)") }
        }
    }
}

let manager = try await SystemdManager.connect()
let tag = String(getpid())
_ = try await runModule(manager, prefix: "\(tag)-warm", count: 5)  // first-use costs out of the figure
let module = try await runModule(manager, prefix: tag, count: count)
let cli = try runCLI(count: count)

let perUnit = milliseconds(module) / Double(count)
let perCLI = milliseconds(cli) / Double(count)
print("transient units, \(count) one after another, via \(await manager.connectedVia):")
print(String(format: "  hvctl Systemd module       %7.2f ms/unit  (%.0f ms total)", perUnit, milliseconds(module)))
print(String(format: "  systemd-run --wait --collect %5.2f ms/unit  (%.0f ms total)", perCLI, milliseconds(cli)))
print(String(format: "  ratio                      %7.2fx faster  (target: <= 8 ms/unit and >= 2x)", perCLI / perUnit))

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

let tag = String(getpid())
let bus = try await SystemdManager.connect(.systemBus)
let socket = try await SystemdManager.connect(.managerSocket())
_ = try await runModule(bus, prefix: "\(tag)-warm", count: 5)  // first-use costs out of the figures
let viaBus = try await runModule(bus, prefix: "\(tag)-bus", count: count)
let viaSocket = try await runModule(socket, prefix: "\(tag)-private", count: count)
let cli = try runCLI(count: count)

let perBus = milliseconds(viaBus) / Double(count)
let perSocket = milliseconds(viaSocket) / Double(count)
let perCLI = milliseconds(cli) / Double(count)
print("transient units (no-op oneshot, started and awaited), \(count) one after another:")
print(String(format: "  hvctl Systemd module, system bus       %6.2f ms/unit  (%.0f ms total)", perBus, milliseconds(viaBus)))
print(String(format: "  hvctl Systemd module, manager socket   %6.2f ms/unit  (%.0f ms total)", perSocket, milliseconds(viaSocket)))
print(String(format: "  systemd-run --wait --collect           %6.2f ms/unit  (%.0f ms total)", perCLI, milliseconds(cli)))
print(String(format: "  ratio (system bus vs systemd-run)      %6.2fx faster  (target: <= 8 ms/unit and >= 2x)", perCLI / perBus))

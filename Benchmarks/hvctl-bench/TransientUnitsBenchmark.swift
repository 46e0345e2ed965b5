import Foundation
import Systemd

/// N no-op transient services one after another through the Systemd module
/// (StartTransientUnit, wait for the oneshot to finish, read its result), beside N
/// `systemd-run --wait --collect /bin/true` doing the same through the CLI.
struct TransientUnitsBenchmark {
    var count: Int

    func module(_ manager: SystemdManager, prefix: String, count: Int) async throws -> Duration {
        try await ContinuousClock().measure {
            for i in 0..<count {
                var service = TransientService(name: "hvctl-bench-\(prefix)-\(i).service", command: ["/bin/true"])
                service.slice = "hvctl.slice"
                let result = try await manager.run(service, waitLimit: .seconds(30))
                guard result.succeeded else { throw BenchmarkError("\(service.name) ended \(result.result)") }
            }
        }
    }

    func run() async throws {
        let tag = String(getpid())
        let bus = try await SystemdManager.connect(.systemBus)
        let socket = try await SystemdManager.connect(.managerSocket())
        _ = try await module(bus, prefix: "\(tag)-warm", count: 5)  // first-use costs out of the figures
        let viaBus = try await module(bus, prefix: "\(tag)-bus", count: count)
        let viaSocket = try await module(socket, prefix: "\(tag)-private", count: count)
        let cli = try ContinuousClock().measure {
            for _ in 0..<count {
                try runProgram("/usr/bin/systemd-run", ["--wait", "--collect", "--quiet", "--slice=hvctl.slice", "/bin/true"])
            }
        }
        out("transient units (no-op oneshot, started and awaited), \(count) one after another:")
        out(row("hvctl Systemd module, system bus", viaBus, per: count, unit: "unit"))
        out(row("hvctl Systemd module, manager socket", viaSocket, per: count, unit: "unit"))
        out(row("systemd-run --wait --collect", cli, per: count, unit: "unit"))
        out(ratioRow("ratio, system bus vs systemd-run", milliseconds(cli) / milliseconds(viaBus), target: "<= 8 ms/unit and >= 2x"))
    }
}

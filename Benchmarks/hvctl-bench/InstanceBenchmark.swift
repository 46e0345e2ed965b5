import Foundation
import Synchronization

/// Instances to ready, side by side with what a user would otherwise type:
/// - one VM: `hvctl instance launch --wait` against a bare qemu-system-x86_64 booting the same
///   kernel and initramfs to the same ready line (the floor: no libvirt at all);
/// - twenty VMs at once against a `virsh create` loop of the same domains, each to its ready line;
/// - fifty containers at once against a `docker run -d` loop.
struct InstanceBenchmark {
    var hvctl: String
    /// HVCTL_BENCH_VMS and HVCTL_BENCH_CONTAINERS change the counts; 0 skips that part.
    var vms = ProcessInfo.processInfo.environment["HVCTL_BENCH_VMS"].flatMap { Int($0) } ?? 20
    var containers = ProcessInfo.processInfo.environment["HVCTL_BENCH_CONTAINERS"].flatMap { Int($0) } ?? 50

    func run() throws {
        let env = ["HVCTL_STATE_DIR": "/tmp/hvctl-bench-inst-state-\(getpid())"]
        defer { try? FileManager.default.removeItem(atPath: env["HVCTL_STATE_DIR"]!) }
        try runProgram(hvctl, ["start", "libvirt"], environment: env)
        out("instances to ready:")
        try oneVM(env)
        if vms > 0 { try manyVMs(env) }
        if containers > 0 { try manyContainers(env) }
    }

    // MARK: one VM against bare QEMU

    private func oneVM(_ env: [String: String]) throws {
        var ours: [Double] = []
        var floor: [Double] = []
        for round in 0..<3 {
            let name = "hvctl-bench-one-\(getpid())-\(round)"
            ours.append(milliseconds(try ContinuousClock().measure {
                try runProgram(hvctl, ["instance", "launch", name, "--driver", "libvirt", "--wait", "--timeout", "600"], environment: env)
            }))
            let xml = try capture("/usr/bin/virsh", ["-c", "qemu:///system", "dumpxml", name])
            try runProgram(hvctl, ["instance", "delete", name, "--driver", "libvirt"], environment: env)
            let kernel = try element("kernel", in: xml), initrd = try element("initrd", in: xml), cmdline = try element("cmdline", in: xml)
            let accel = xml.contains("type='kvm'") ? "kvm" : "tcg"
            floor.append(try bareQEMU(kernel: kernel, initrd: initrd, cmdline: cmdline, accel: accel))
        }
        let (h, q) = (median(ours), median(floor))
        out("  one VM (hvctl's guest, median of 3):")
        out(String(format: "    hvctl instance launch --wait %7.0f ms", h))
        out(String(format: "    bare qemu-system-x86_64      %7.0f ms  (same kernel, initramfs, command line, to the same line)", q))
        out(String(format: "    ratio hvctl/qemu             %7.2f   (target: <= 1.2)", h / q))
    }

    /// Boots QEMU with a user-mode NIC (its own DHCP) and reads its serial console until the
    /// ready line; milliseconds from spawn to that line.
    private func bareQEMU(kernel: String, initrd: String, cmdline: String, accel: String) throws -> Double {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw BenchmarkError("pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        let args = [
            "/usr/bin/qemu-system-x86_64", "-accel", accel, "-m", "128", "-smp", "1", "-nographic", "-no-reboot", "-nodefaults",
            "-serial", "stdio", "-kernel", kernel, "-initrd", initrd, "-append", cmdline, "-nic", "user,model=virtio-net-pci",
        ]
        let argv = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let start = ContinuousClock.now
        guard posix_spawn(&pid, args[0], &actions, nil, argv, environ) == 0 else { throw BenchmarkError("cannot run qemu") }
        close(fds[1])
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            close(fds[0])
        }
        var seen: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            guard n > 0 else { throw BenchmarkError("qemu ended before its guest was ready") }
            seen += buffer[0..<n]
            if String(decoding: seen.suffix(4096), as: UTF8.self).contains("hvctl-guest: ready") {
                return milliseconds(ContinuousClock.now - start)
            }
        }
    }

    // MARK: twenty VMs against a virsh create loop

    private func manyVMs(_ env: [String: String]) throws {
        let names = (0..<vms).map { "hvctl-bench-many-\(getpid())-\($0)" }
        let ours = milliseconds(try ContinuousClock().measure {
            try concurrently(names) { name in
                try runProgram(hvctl, ["instance", "launch", name, "--driver", "libvirt", "--wait", "--timeout", "1200"], environment: env)
            }
        })
        // The same domains for virsh: hvctl's XML without its mark, under other names, each
        // console logged to a file the loop watches for the ready line.
        let template = try capture("/usr/bin/virsh", ["-c", "qemu:///system", "dumpxml", "--inactive", names[0]])
        // Deleted one by one: a cleanup would also take hvctl's network, which the copies join.
        try concurrently(names) { name in try runProgram(hvctl, ["instance", "delete", name, "--driver", "libvirt"], environment: env) }
        let dir = "/var/tmp/hvctl-bench-virsh-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var theirs: [(name: String, log: String)] = []
        let virsh = milliseconds(try ContinuousClock().measure {
            for i in 0..<vms {
                let name = "hvctl-bench-virsh-\(getpid())-\(i)"
                let log = "\(dir)/\(i).log"
                let xml = try rewrite(template, name: name, log: log)
                try xml.write(toFile: "\(dir)/\(i).xml", atomically: true, encoding: .utf8)
                try runProgram("/usr/bin/virsh", ["-c", "qemu:///system", "create", "\(dir)/\(i).xml"])
                theirs.append((name, log))
            }
            while !theirs.allSatisfy({ ((try? String(contentsOfFile: $0.log, encoding: .utf8)) ?? "").contains("hvctl-guest: ready") }) {
                Thread.sleep(forTimeInterval: 0.1)
            }
        })
        for t in theirs { _ = try? runProgram("/usr/bin/virsh", ["-c", "qemu:///system", "destroy", t.name]) }
        try runProgram(hvctl, ["cleanup", "libvirt"], environment: env)
        out("  \(vms) VMs at once, each to its ready line:")
        out(String(format: "    hvctl instance launch --wait ×%d, concurrently %7.0f ms", vms, ours))
        out(String(format: "    virsh create loop, then the ready lines        %7.0f ms", virsh))
        out(String(format: "    ratio hvctl/virsh                              %7.2f   (target: <= 0.5)", ours / virsh))
    }

    /// hvctl's domain XML as a plain transient domain: another name, no UUID, no mark.
    private func rewrite(_ xml: String, name: String, log: String) throws -> String {
        var lines = xml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeAll { $0.contains("<uuid>") || $0.contains("hvctl:instance") || $0.contains("<mac address") }
        var text = lines.joined(separator: "\n")
        text = text.replacingOccurrences(of: try element("name", in: xml), with: name, options: [], range: text.range(of: "<name>.*</name>", options: .regularExpression))
        if let file = text.range(of: "<log file='[^']*'", options: .regularExpression) {
            text.replaceSubrange(file, with: "<log file='\(log)'")
        }
        return text
    }

    // MARK: fifty containers against a docker run -d loop

    private func manyContainers(_ env: [String: String]) throws {
        try runProgram(hvctl, ["start", "docker"], environment: env)
        // The base image first, on both sides.
        try runProgram(hvctl, ["instance", "launch", "hvctl-bench-c-warm-\(getpid())", "--driver", "docker"], environment: env)
        let names = (0..<containers).map { "hvctl-bench-c-\(getpid())-\($0)" }
        let ours = milliseconds(try ContinuousClock().measure {
            try concurrently(names) { name in try runProgram(hvctl, ["instance", "launch", name, "--driver", "docker"], environment: env) }
        })
        try runProgram(hvctl, ["cleanup", "docker"], environment: env)
        let theirs = (0..<containers).map { "hvctl-bench-d-\(getpid())-\($0)" }
        let docker = milliseconds(try ContinuousClock().measure {
            for name in theirs {
                try runProgram(
                    "/usr/bin/docker",
                    ["run", "-d", "--name", name, "--network", "none", "hvctl/busybox:latest", "/bin/sh", "-c", "trap 'exit 0' TERM INT; sleep 2147483647 & wait"])
            }
        })
        try runProgram("/usr/bin/docker", ["rm", "-f"] + theirs)
        out("  \(containers) containers, running:")
        out(String(format: "    hvctl instance launch ×%d, concurrently %7.0f ms", containers, ours))
        out(String(format: "    docker run -d loop                      %7.0f ms", docker))
        out(String(format: "    ratio hvctl/docker                      %7.2f   (target: <= 0.5)", ours / docker))
    }

    // MARK: plumbing

    private func element(_ tag: String, in xml: String) throws -> String {
        guard let open = xml.range(of: "<\(tag)>"), let close = xml.range(of: "</\(tag)>", range: open.upperBound..<xml.endIndex) else {
            throw BenchmarkError("no <\(tag)> in the domain's XML")
        }
        return String(xml[open.upperBound..<close.lowerBound])
    }

    private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    /// `body` for every item, each on a thread of its own, all at once; the first error thrown.
    private func concurrently(_ items: [String], _ body: @escaping @Sendable (String) throws -> Void) throws {
        let group = DispatchGroup()
        let failure = Mutex<(any Error)?>(nil)
        for item in items {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do { try body(item) } catch { failure.withLock { $0 = $0 ?? error } }
            }
        }
        group.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }
}

import Foundation

/// `hvctl switch libvirt` from a Docker that hvctl started, beside the raw work it orders:
/// stop docker.socket and docker.service, start libvirtd.service, wait until it answers.
struct SwitchBenchmark {
    var hvctl: String

    func run() throws {
        let noHooks = try BenchExtras("switch")
        defer { noHooks.remove() }
        let env = ["HVCTL_STATE_DIR": noHooks.top + "/state", "HVCTL_EXTRAS_DIR": noHooks.extras]
        let systemctl = "/usr/bin/systemctl"
        let all = ["docker.socket", "docker.service", "libvirtd.socket", "libvirtd-ro.socket", "libvirtd-admin.socket", "libvirtd.service"]

        var hvctlTimes: [Double] = []
        var rawTimes: [Double] = []
        for _ in 0..<3 {
            try runProgram(systemctl, ["reset-failed"] + all)
            try runProgram(systemctl, ["stop"] + all)
            try runProgram(hvctl, ["start", "docker"], environment: env)  // hvctl started it: switch stops it
            hvctlTimes.append(milliseconds(try ContinuousClock().measure {
                try runProgram(hvctl, ["switch", "libvirt"], environment: env)
            }))

            try runProgram(systemctl, ["stop"] + all)
            try runProgram(systemctl, ["start", "docker.socket", "docker.service"])
            rawTimes.append(milliseconds(try ContinuousClock().measure {
                try runProgram(systemctl, ["stop", "docker.socket", "docker.service"])
                try runProgram(systemctl, ["start", "libvirtd.service"])
                try runProgram("/usr/bin/virsh", ["-c", "qemu:///system", "version"])
            }))
        }
        let h = hvctlTimes.sorted()[1]
        let r = rawTimes.sorted()[1]
        out("switch docker -> libvirt (no hooks), median of 3:")
        out(String(format: "    hvctl switch libvirt        %6.0f ms", h))
        out(String(format: "    the raw unit work           %6.0f ms  (systemctl stop docker, start libvirtd, virsh version)", r))
        out(String(format: "    ratio hvctl/raw             %6.2f   (target: <= 1.3)", h / r))
        // Units started and stopped this often hit systemd's start limits: clear them.
        try runProgram(systemctl, ["reset-failed"] + all)
        try runProgram(systemctl, ["start", "docker.socket", "docker.service", "libvirtd.socket", "libvirtd.service"])
    }
}

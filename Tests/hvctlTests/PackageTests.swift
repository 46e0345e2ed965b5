import Foundation
import TestSupport
import Testing

/// dist/hvctl_*_amd64.deb, as `make deb` (and so `make test`) builds it.
enum PackageFixture {
    static let deb: String? = {
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dist = package.appendingPathComponent("dist").path
        let found = ((try? FileManager.default.contentsOfDirectory(atPath: dist)) ?? []).filter { $0.hasPrefix("hvctl_") && $0.hasSuffix("_amd64.deb") }.sorted()
        return found.last.map { dist + "/" + $0 }
    }()
}

@Suite(
    "the Debian package: installed with apt, used, purged (test host)", .serialized,
    .enabled(if: PackageFixture.deb != nil, "needs dist/hvctl_*_amd64.deb: `make deb` (make test builds it first)"))
struct PackageTests {
    func apt(_ args: String...) throws -> Witness.Output {
        try Witness.run(["apt-get", "-y", "-q", "-o", "Dpkg::Use-Pty=0"] + args, environment: ["DEBIAN_FRONTEND": "noninteractive"])
    }

    @Test("apt installs it; doctor runs; man pages and three completions are where Debian puts them; hvctl@fake starts and stops; purge leaves nothing")
    func installUsePurge() throws {
        let deb = try #require(PackageFixture.deb)
        let installed = try apt("install", "--no-install-recommends", deb)
        try #require(installed.status == 0, "\(installed.stdout)\(installed.stderr)")
        var purged = false
        defer { if !purged { _ = try? apt("purge", "hvctl") } }

        #expect(try Witness.run(["/usr/bin/hvctl", "--version"]).status == 0)
        let doctor = try Witness.run(["/usr/bin/hvctl", "doctor", "--driver", "fake"])
        #expect(doctor.status == 0 && doctor.stdout.contains("ready for fake"), "\(doctor.stdout)\(doctor.stderr)")
        let files = try Witness.run(["dpkg", "-L", "hvctl"]).stdout.split(separator: "\n").map(String.init)
        for page in ["hvctl", "hvctl-stack", "hvctl-hooks-run", "hvctl-cleanup"] {
            let path = "/usr/share/man/man1/\(page).1.gz"
            #expect(files.contains(path), "no man page \(path)")
            // swift-argument-parser writes mdoc (.Dd/.Dt/.Sh); man renders it.
            #expect(try Witness.run(["sh", "-c", "gzip -dc \(path) | grep -q '^\\.Dt HVCTL'"]).status == 0, "\(path) is no man page")
        }
        for completion in [
            "/usr/share/bash-completion/completions/hvctl", "/usr/share/zsh/vendor-completions/_hvctl",
            "/usr/share/fish/vendor_completions.d/hvctl.fish",
        ] {
            #expect(files.contains(completion) && FileManager.default.fileExists(atPath: completion), "no \(completion)")
        }
        // The units are known without a manual daemon-reload (postinst), and nothing was started.
        #expect(try Witness.unitProperty("hvctl@fake.service", "ActiveState") == "inactive")
        let unit = try Witness.run(["systemctl", "cat", "hvctl@fake.service"])
        #expect(unit.stdout.contains("ExecStart=/usr/bin/hvctl start %i"), "\(unit.stdout)\(unit.stderr)")
        #expect(try Witness.run(["systemctl", "start", "hvctl@fake.service"]).status == 0)
        #expect(try Witness.unitProperty("hvctl@fake.service", "ActiveState") == "active")
        #expect(try Witness.run(["systemctl", "stop", "hvctl@fake.service"]).status == 0)
        #expect(try Witness.unitProperty("hvctl@fake.service", "ActiveState") == "inactive")

        let purge = try apt("purge", "hvctl")
        purged = purge.status == 0
        #expect(purged, "\(purge.stdout)\(purge.stderr)")
        #expect(try Witness.run(["dpkg", "-s", "hvctl"]).status != 0)
        for path in files + ["/var/lib/hvctl"] where path.contains("hvctl") {
            var st = stat()
            #expect(lstat(path, &st) != 0, "left after purge: \(path)")
        }
        #expect(try Witness.unitProperty("hvctl@fake.service", "LoadState") == "not-found", "systemd still knows hvctl@.service")
    }
}

import Foundation
@testable import Hypervisors
import TestSupport
import Testing

@Suite("Docker Engine API over the Unix socket (real dockerd)")
struct EngineClientTests {
    init() { ensureDockerRunning() }

    @Test("ping negotiates the daemon's API version; /version agrees with curl's")
    func versionNegotiation() async throws {
        let client = try await EngineClient.connect()
        let witness = try Witness.run(["curl", "-sf", "--unix-socket", "/run/docker.sock", "http://docker/version"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(witness.stdout.utf8)) as? [String: Any])
        let daemonAPI = try #require(json["ApiVersion"] as? String)
        #expect(client.apiVersion == EngineClient.lower(daemonAPI, EngineClient.maximumAPIVersion))
        let version = try await client.version()
        #expect(version.Version == json["Version"] as? String)
        #expect(version.ApiVersion == daemonAPI)
    }

    @Test("the daemon's own error message comes back with its status")
    func apiError() async throws {
        let client = try await EngineClient.connect()
        let name = uniqueName("hvctl-test-nosuch")
        await #expect(throws: EngineError.api(status: 404, message: "No such container: \(name)")) {
            _ = try await client.request(.GET, "/containers/\(name)/json")
        }
    }

    @Test("a missing socket fails at once with a clear reason")
    func missingSocket() async throws {
        await #expect(throws: EngineError.unreachable(socket: "/nonexistent/docker.sock", reason: "no such socket (is docker.service running?)")) {
            _ = try await EngineClient.connect(socketPath: "/nonexistent/docker.sock")
        }
    }

    @Test("API versions compare numerically")
    func lowerVersion() {
        #expect(EngineClient.lower("1.41", "1.9") == "1.9")
        #expect(EngineClient.lower("1.41", "1.43") == "1.41")
        #expect(EngineClient.lower("1.24", "1.41") == "1.24")
    }
}

@Suite("Docker's streamed answers")
struct EngineStreamTests {
    init() { ensureDockerRunning() }

    @Test("frames split at any byte boundary come out whole and in order")
    func demuxChunks() {
        func frame(_ stream: UInt8, _ text: String) -> [UInt8] {
            let bytes = Array(text.utf8)
            let n = UInt32(bytes.count)
            return [stream, 0, 0, 0, UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + bytes
        }
        let all = frame(1, "out-line\n") + frame(2, "err-line\n") + frame(1, "") + frame(1, String(repeating: "x", count: 300))
        for chunk in [1, 3, 7, 8, 9, 64, all.count] {
            var demux = EngineClient.LogDemultiplexer()
            var frames: [EngineClient.LogFrame] = []
            var i = 0
            while i < all.count {
                frames += demux.feed(all[i..<min(i + chunk, all.count)])
                i += chunk
            }
            #expect(frames.map(\.stream) == [.stdout, .stderr, .stdout, .stdout], "chunk \(chunk)")
            #expect(frames.map(\.text) == ["out-line\n", "err-line\n", "", String(repeating: "x", count: 300)])
            #expect(demux.pending == 0)
        }
    }

    @Test("a container's stdout and stderr come back apart, and its events stream with labels")
    func logsAndEvents() async throws {
        let client = try await EngineClient.connect()
        let name = uniqueName("hvctl-test-logs")
        let since = Int(Date().timeIntervalSince1970) - 1
        defer { _ = try? Witness.run(["docker", "rm", "-f", name]) }
        // Make the image the test needs if an earlier cleanup removed it.
        if try await !client.imageExists("hvctl/busybox:latest") {
            try await client.importImage(
                try BaseImage.rootfs(), repository: BaseImage.repository, tag: BaseImage.tag, changes: ["LABEL org.hvctl.managed=true"])
        }
        let run = try Witness.run([
            "docker", "run", "--name", name, "--label", "hvctl.test=\(name)", "--network", "none",
            "hvctl/busybox:latest", "/bin/sh", "-c", "echo one; echo two >&2; echo three",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let frames = try await client.logs(name)
        #expect(frames.filter { $0.stream == .stdout }.map(\.text).joined() == "one\nthree\n")
        #expect(frames.filter { $0.stream == .stderr }.map(\.text) == ["two\n"])

        var actions: [String] = []
        for try await event in client.events(since: since, until: Int(Date().timeIntervalSince1970) + 1, labels: ["hvctl.test=\(name)"]) {
            actions.append(event.Action)
        }
        #expect(actions.contains("create") && actions.contains("start") && actions.contains("die"), "\(actions)")
    }
}

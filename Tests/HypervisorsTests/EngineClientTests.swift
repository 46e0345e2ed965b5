import Foundation
import Hypervisors
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

import Foundation
import Glibc
@testable import Hypervisors
import TestSupport
import Testing

/// A stand-in daemon on a Unix socket (Python, as a witness independent of NIO) whose answers
/// a real daemon gives only when broken: the client's framing, limits and error mapping.
final class FakeEngine {
    let dir: String
    let socket: String
    private let server: Process

    init() async throws {
        dir = NSTemporaryDirectory() + uniqueName("hvctl-fake-engine")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        socket = dir + "/engine.sock"
        server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = ["-c", Self.script, socket, dir + "/requests.log"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        let path = socket
        _ = try await eventually { FileManager.default.fileExists(atPath: path) ? true : nil }
    }

    deinit {
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Each request as "METHOD TARGET" and its headers, lower-cased names, and its body's size.
    var requests: [(line: String, headers: [String: String], bodySize: Int)] {
        let text = (try? String(contentsOfFile: dir + "/requests.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { line in
            let fields = line.split(separator: "\t", maxSplits: 2).map(String.init)
            let headers = (try? JSONSerialization.jsonObject(with: Data(fields[1].utf8)) as? [String: String]) ?? [:]
            return (fields[0], headers, Int(fields[2]) ?? -1)
        }
    }

    static let script = #"""
        import json, socket, sys, threading, time
        path, log = sys.argv[1], sys.argv[2]
        lock = threading.Lock()

        def answer(c, status, body, extra=b""):
            c.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\n" % len(body) + extra + b"\r\n" + body)

        def handle(c):
            data = b""
            while b"\r\n\r\n" not in data:
                more = c.recv(65536)
                if not more: return
                data += more
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            method, target, _ = lines[0].split(" ")
            headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
            while len(body) < int(headers.get("content-length", "0")): body += c.recv(65536)
            with lock, open(log, "a") as f: f.write("%s %s\t%s\t%d\n" % (method, target, json.dumps(headers), len(body)))
            if target == "/_ping":
                answer(c, b"200 OK", b"OK", b"Api-Version: 1.41\r\nServer: Fake/1 (linux)\r\n")
            elif target.endswith("/version"):
                answer(c, b"200 OK", json.dumps({"Version": "1.0", "ApiVersion": "1.41"}).encode())
            elif "/events" in target:
                c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                for action in ("create", "start", "die"):
                    line = json.dumps({"Type": "container", "Action": action, "Actor": {"ID": "x"}, "time": 1}).encode() + b"\n"
                    for piece in (line[:7], line[7:]):  # a line across chunks
                        c.sendall(b"%x\r\n%s\r\n" % (len(piece), piece)); time.sleep(0.02)
                if "until=" in target: c.sendall(b"0\r\n\r\n")
                else:
                    while c.recv(1): pass  # until the client goes
                    open(log + ".closed", "w").close()
            elif target.endswith("/huge"):
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (65 << 20))
                try:
                    for _ in range(65): c.sendall(b"x" * (1 << 20))
                except OSError: pass
            elif target.endswith("/cut"):
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
            elif target.endswith("/slow"):
                time.sleep(0.3); answer(c, b"200 OK", b"[]")
            elif target.endswith("/echo"):
                answer(c, b"201 Created", json.dumps({"Id": "%d" % len(body)}).encode())
            elif target.endswith("/plain"):
                answer(c, b"500 Internal Server Error", b"  it broke\n")
            else:
                answer(c, b"404 Not Found", json.dumps({"message": "No such container: " + target.split("/")[3]}).encode())
            c.close()

        s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(256)
        while True:
            c, _ = s.accept()
            threading.Thread(target=handle, args=(c,), daemon=True).start()
        """#
}

@Suite("HTTP/1.1 over a Unix socket (a stand-in daemon)")
struct UnixHTTPClientTests {
    @Test("requests say Host, Content-Type and Content-Length; the daemon's own message comes back with its status")
    func requestsAndErrors() async throws {
        let engine = try await FakeEngine()
        let client = try await EngineClient.connect(socketPath: engine.socket)
        #expect(client.apiVersion == "1.41")
        #expect(try await client.version().Version == "1.0")
        await #expect(throws: EngineError.api(status: 404, message: "No such container: web")) {
            _ = try await client.request(.GET, "/containers/web/json")
        }
        await #expect(throws: EngineError.api(status: 500, message: "it broke")) {
            _ = try await client.request(.GET, "/plain")
        }
        let created = try await client.request(.POST, "/echo", body: Data(repeating: 7, count: 300_000))
        #expect(created.status == 201 && String(decoding: created.body, as: UTF8.self) == #"{"Id": "300000"}"#)
        _ = try await client.request(.POST, "/echo")

        let requests = engine.requests
        #expect(requests.map(\.line) == [
            "GET /_ping", "GET /v1.41/version", "GET /v1.41/containers/web/json", "GET /v1.41/plain",
            "POST /v1.41/echo", "POST /v1.41/echo",
        ])
        #expect(requests.allSatisfy { $0.headers["host"] == "docker" && $0.headers["connection"] == "close" })
        #expect(requests[4].headers["content-type"] == "application/json" && requests[4].bodySize == 300_000)
        #expect(requests[4].headers["content-length"] == "300000" && requests[4].headers["transfer-encoding"] == nil)
        #expect(requests[5].headers["content-length"] == "0" && requests[5].headers["content-type"] == nil)
    }

    @Test("a body over 64 MiB, a body cut short and a request past its deadline fail as such")
    func limits() async throws {
        let engine = try await FakeEngine()
        var client = try await EngineClient.connect(socketPath: engine.socket)
        await #expect(throws: EngineError.badResponse(request: "GET /v1.41/huge", reason: "the answer's body is larger than 64 MiB")) {
            _ = try await client.request(.GET, "/huge")
        }
        await #expect(throws: EngineError.unreachable(socket: engine.socket, reason: "the connection closed before the answer was complete")) {
            _ = try await client.request(.GET, "/cut")
        }
        client.requestTimeout = .milliseconds(100)
        await #expect(throws: EngineError.timedOut(request: "GET /v1.41/slow", after: .milliseconds(100))) {
            _ = try await client.request(.GET, "/slow")
        }
    }

    @Test("a head later than its limit fails the exchange; one in time is kept")
    func headTimeout() async throws {
        let engine = try await FakeEngine()
        let client = UnixHTTPClient(socketPath: engine.socket)
        let request = UnixHTTPClient.Request(method: .GET, target: "/v1.41/slow", headers: ["Host": "docker"])
        await #expect(throws: UnixHTTPError.headTimedOut(after: .milliseconds(100))) {
            try await client.withResponse(to: request, headTimeout: .milliseconds(100)) { _, _ in }
        }
        let status = try await client.withResponse(to: request, headTimeout: .seconds(5)) { head, _ in head.status.code }
        #expect(status == 200)
    }

    @Test("a socket nobody listens on is unreachable, with the errno's own words")
    func refused() async throws {
        let engine = try await FakeEngine()
        let dead = engine.dir + "/dead.sock"
        // Bound by a process that then exits: the socket stays, nobody listens.
        let bind = Process()
        bind.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        bind.arguments = ["-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", dead]
        try bind.run()
        bind.waitUntilExit()
        #expect(bind.terminationStatus == 0)
        await #expect(throws: EngineError.unreachable(socket: dead, reason: "Connection refused")) {
            _ = try await EngineClient.ping(socketPath: dead)
        }
    }

    @Test("64 requests at once each get their answer")
    func parallel() async throws {
        let engine = try await FakeEngine()
        let client = try await EngineClient.connect(socketPath: engine.socket)
        let versions = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<64 { group.addTask { try await client.get("/slow", as: [String].self).joined() + "ok" } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(versions == Array(repeating: "ok", count: 64))
    }

    @Test("events arrive line by line across chunks; a stream without end stops when its consumer is cancelled")
    func events() async throws {
        let engine = try await FakeEngine()
        let client = try await EngineClient.connect(socketPath: engine.socket)
        var actions: [String] = []
        for try await event in client.events(since: 0, until: 1, labels: ["a=b"]) { actions.append(event.Action) }
        #expect(actions == ["create", "start", "die"])
        #expect(engine.requests.last?.line.hasPrefix("GET /v1.41/events?since=0&until=1&filters=") == true)

        let endless = Task {
            var seen = 0
            for try await _ in client.events(since: 0, until: nil) { seen += 1 }
            return seen
        }
        try await Task.sleep(for: .milliseconds(500))
        endless.cancel()
        #expect(try await endless.value == 3)
        // The connection is gone, not left open behind the ended stream.
        let closed = engine.dir + "/requests.log.closed"
        #expect(try await eventually(timeout: .seconds(5)) { FileManager.default.fileExists(atPath: closed) ? true : nil } == true)
    }

    @Test("a streamed answer that fails carries the daemon's own message, as a collected one does")
    func failedStream() async throws {
        let engine = try await FakeEngine()
        let client = try await EngineClient.connect(socketPath: engine.socket)
        await #expect(throws: EngineError.api(status: 404, message: "No such container: nope")) {
            try await client.followLogs("nope", tail: nil) { _ in }
        }
        #expect(engine.requests.last?.line.hasPrefix("GET /v1.41/containers/nope/logs?") == true)
    }

    @Test("an answer that is not HTTP is said to be so")
    func notHTTP() async throws {
        let engine = try await FakeEngine()
        let path = engine.dir + "/garbage.sock"
        let garbage = Process()
        garbage.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        garbage.arguments = ["-c", """
            import socket
            s = socket.socket(socket.AF_UNIX); s.bind('\(path)'); s.listen(4)
            while True:
                c, _ = s.accept(); c.recv(4096); c.sendall(b"garbage, not HTTP\\r\\n\\r\\n"); c.close()
            """]
        try garbage.run()
        defer { kill(garbage.processIdentifier, SIGKILL) }
        _ = try await eventually { FileManager.default.fileExists(atPath: path) ? true : nil }
        do {
            _ = try await EngineClient.ping(socketPath: path)
            Issue.record("garbage was taken for HTTP")
        } catch let EngineError.badResponse(request, reason) {
            #expect(request == "GET /_ping")
            #expect(reason.hasPrefix("not HTTP (") && reason.hasSuffix("); is \(path) the Docker Engine's socket?"), "\(reason)")
        }
    }
}

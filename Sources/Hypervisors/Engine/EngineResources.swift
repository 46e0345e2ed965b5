import Core
import FoundationEssentials

/// The Engine API's containers, images, networks and volumes, as far as hvctl needs them.
extension EngineClient {
    public struct ContainerSummary: Decodable, Sendable {
        public var Id: String
        public var Names: [String]
        public var Image: String
        public var State: String
        public var Labels: [String: String]?
        public var NetworkSettings: Networking?

        public struct Networking: Decodable, Sendable {
            public struct Endpoint: Decodable, Sendable {
                public var IPAddress: String?
                public var IPPrefixLen: Int?
            }
            public var Networks: [String: Endpoint]?
        }

        /// Its first IPv4 address with prefix, when it is on a network that gives one.
        public var address: String? {
            let endpoints = (NetworkSettings?.Networks ?? [:]).sorted { $0.key < $1.key }.map(\.value)
            guard let e = endpoints.first(where: { !($0.IPAddress ?? "").isEmpty }), let ip = e.IPAddress else { return nil }
            return e.IPPrefixLen.map { "\(ip)/\($0)" } ?? ip
        }

        /// The name without Docker's leading slash.
        public var name: String { (Names.first ?? Id).trimmingScalars { $0 == "/" } }
    }

    public struct ContainerDetails: Decodable, Sendable {
        public struct State: Decodable, Sendable { public var Status: String }
        public struct Config: Decodable, Sendable {
            public var Image: String
            public var Labels: [String: String]?
        }
        public var Id: String
        public var Name: String
        public var State: State
        public var Config: Config
    }

    public struct ImageSummary: Decodable, Sendable {
        public var Id: String
        public var RepoTags: [String]?
        public var Labels: [String: String]?
    }

    public struct NetworkSummary: Decodable, Sendable {
        public var Id: String
        public var Name: String
        public var Labels: [String: String]?
    }

    public struct VolumeSummary: Decodable, Sendable {
        public var Name: String
        public var Labels: [String: String]?
    }

    /// `?filters={"label":[…]}`, as the API wants it.
    static func labelFilter(_ labels: [String]) -> String {
        // An empty filter list means "no filter" to the daemon: everything is listed.
        filters(labels.isEmpty ? [:] : ["label": labels])
    }

    /// `filters=` and the JSON object, keys sorted.
    static func filters(_ filters: [String: [String]]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = try! encoder.encode(filters)
        return "filters=" + percentEncoded(String(decoding: json, as: UTF8.self))
    }

    /// Every byte of the UTF-8 but ASCII letters, digits and "-._~" as %XX: what Foundation's
    /// `addingPercentEncoding(withAllowedCharacters:)` gives with `.alphanumerics` and those four.
    static func percentEncoded(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }

    /// `name` as a regular expression that matches only itself: NSRegularExpression's
    /// `escapedPattern(for:)`, a backslash before each of `*?+[(){}^$|\./`.
    static func escapedPattern(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars {
            if #"*?+[(){}^$|\./"#.unicodeScalars.contains(scalar) { out += "\\" }
            out.unicodeScalars.append(scalar)
        }
        return out
    }

    public func containers(labels: [String], all: Bool = true) async throws -> [ContainerSummary] {
        try await get("/containers/json?all=\(all ? 1 : 0)&\(Self.labelFilter(labels))", as: [ContainerSummary].self)
    }

    /// The container named exactly `name`, or nil. Never `/containers/{name}`: the daemon
    /// resolves that as an id prefix too, so `410` would find the container `web` whose id
    /// starts with 410. The name filter is a regular expression, so `name` is escaped and
    /// anchored, and the answer is compared exactly as well.
    public func container(named name: String) async throws -> ContainerSummary? {
        // Docker names containers "/NAME"; Podman's API matches the name without the slash.
        let pattern = "^/?" + Self.escapedPattern(name) + "$"
        let list = try await get("/containers/json?all=1&\(Self.filters(["name": [pattern]]))", as: [ContainerSummary].self)
        return list.first { $0.Names.contains("/" + name) || $0.Names.contains(name) }
    }

    public struct ContainerSpec: Encodable, Sendable {
        public struct HostConfig: Encodable, Sendable {
            public var NetworkMode: String
            /// Bytes; nil: no limit.
            public var Memory: Int?
            /// Billionths of a CPU; nil: no limit.
            public var NanoCpus: Int?
        }
        public var Image: String
        /// nil: the image's own command.
        public var Cmd: [String]?
        public var Labels: [String: String]
        public var HostConfig: HostConfig
        public var StopTimeout: Int?
        /// Stdin kept open, so `instance console` can type into the container.
        public var OpenStdin: Bool? = true
    }

    /// Creates a container; returns its id.
    public func createContainer(name: String, _ spec: ContainerSpec) async throws -> String {
        struct Created: Decodable { var Id: String }
        let body = try JSONEncoder().encode(spec)
        let response = try await request(.POST, "/containers/create?name=\(Self.percentEncoded(name))", body: body)
        do {
            return try JSONDecoder().decode(Created.self, from: response.body).Id
        } catch {
            throw EngineError.badResponse(request: "POST /containers/create", reason: "\(error)")
        }
    }

    /// 204 started, 304 already running: both fine.
    public func startContainer(_ id: String) async throws {
        _ = try await request(.POST, "/containers/\(id)/start")
    }

    /// Stops gracefully, the daemon kills after `timeout` seconds; 304 (already stopped) is fine.
    public func stopContainer(_ id: String, timeout: Int) async throws {
        _ = try await request(.POST, "/containers/\(id)/stop?t=\(timeout)")
    }

    /// SIGKILL; a container that is not running (409) is fine.
    public func killContainer(_ id: String) async throws {
        do {
            _ = try await request(.POST, "/containers/\(id)/kill")
        } catch EngineError.api(409, _) {
        }
    }

    /// Removes a container with its anonymous volumes; one already gone (404) is fine, and
    /// so is one another client is removing right now (409 "already in progress": two
    /// cleanups at once), once it is gone.
    public func removeContainer(_ id: String) async throws {
        do {
            _ = try await request(.DELETE, "/containers/\(id)?force=1&v=1")
        } catch EngineError.api(404, _) {
        } catch EngineError.api(409, let message) where message.contains("already in progress") {
            let end = ContinuousClock.now.advanced(by: requestTimeout)
            while ContinuousClock.now < end {
                do {
                    // By its full id: never a prefix of someone else's.
                    _ = try await request(.GET, "/containers/\(id)/json")
                } catch EngineError.api(404, _) {
                    return
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw EngineError.api(status: 409, message: message)
        }
    }

    public func images(labels: [String]) async throws -> [ImageSummary] {
        try await get("/images/json?\(Self.labelFilter(labels))", as: [ImageSummary].self)
    }

    /// The image id `reference` names, or nil when there is none.
    public func imageID(_ reference: String) async throws -> String? {
        struct Inspect: Decodable { var Id: String }
        do {
            return try await get("/images/\(Self.percentEncoded(reference))/json", as: Inspect.self).Id
        } catch EngineError.api(404, _) {
            return nil
        }
    }

    public func imageExists(_ reference: String) async throws -> Bool {
        do {
            _ = try await request(.GET, "/images/\(Self.percentEncoded(reference))/json")
            return true
        } catch EngineError.api(404, _) {
            return false
        }
    }

    /// Removes a tag, and the image with its last tag. Never forced: an image containers
    /// still use is refused (409), and other tags of the image stay.
    public func removeImage(_ reference: String) async throws {
        do {
            _ = try await request(.DELETE, "/images/\(Self.percentEncoded(reference))")
        } catch EngineError.api(404, _) {
        }
    }

    public func networks(labels: [String]) async throws -> [NetworkSummary] {
        try await get("/networks?\(Self.labelFilter(labels))", as: [NetworkSummary].self)
    }

    public func removeNetwork(_ id: String) async throws {
        do {
            _ = try await request(.DELETE, "/networks/\(id)")
        } catch EngineError.api(404, _) {
        }
    }

    public func volumes(labels: [String]) async throws -> [VolumeSummary] {
        struct List: Decodable { var Volumes: [VolumeSummary]? }
        return try await get("/volumes?\(Self.labelFilter(labels))", as: List.self).Volumes ?? []
    }

    public func removeVolume(_ name: String) async throws {
        do {
            _ = try await request(.DELETE, "/volumes/\(Self.percentEncoded(name))?force=1")
        } catch EngineError.api(404, _) {
        }
    }

    /// `POST /images/create?fromSrc=-`: imports a root filesystem tarball as REPO:TAG, with
    /// Dockerfile `changes` (e.g. LABEL). The daemon streams JSON progress lines and reports
    /// failures inside a 200 body, so every line is checked for an error.
    public func importImage(_ tar: Data, repository: String, tag: String, changes: [String]) async throws {
        var query = "fromSrc=-&repo=\(Self.percentEncoded(repository))&tag=\(Self.percentEncoded(tag))"
        for change in changes { query += "&changes=\(Self.percentEncoded(change))" }
        let response = try await request(.POST, "/images/create?\(query)", body: tar, contentType: "application/x-tar")
        struct Progress: Decodable { var error: String? }
        for line in String(decoding: response.body, as: UTF8.self).split(separator: "\n") {
            guard let progress = try? JSONDecoder().decode(Progress.self, from: Data(line.utf8)) else { continue }
            if let error = progress.error {
                throw EngineError.api(status: response.status, message: error)
            }
        }
    }
}

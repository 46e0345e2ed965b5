import Foundation
@testable import Hypervisors

/// The Engine API's event stream: hvctl itself never reads it, but the tests use it as a
/// witness of what happened to a container, and to drive `EngineClient.stream` with a body
/// that arrives line by line.
extension EngineClient {
    struct Event: Decodable, Sendable, Equatable {
        struct Actor: Decodable, Sendable, Equatable {
            var ID: String
            var Attributes: [String: String]?
        }
        var `Type`: String
        var Action: String
        var Actor: Actor
        var time: Int
    }

    /// Events between `since` and `until` (Unix seconds), filtered by labels, each line
    /// decoded as it arrives. Without `until` the stream never ends: cancel the consuming task
    /// to stop it.
    func events(since: Int, until: Int?, labels: [String] = []) -> AsyncThrowingStream<Event, any Error> {
        var path = "/events?since=\(since)"
        if let until { path += "&until=\(until)" }
        if !labels.isEmpty { path += "&" + Self.labelFilter(labels) }
        let events = path
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await stream(events) { body in
                        var pending: [UInt8] = []
                        for try await chunk in body {
                            pending.append(contentsOf: chunk.readableBytesView)
                            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                                let line = Data(pending[..<newline])
                                pending.removeFirst(newline + 1)
                                if let event = try? JSONDecoder().decode(Event.self, from: line) { continuation.yield(event) }
                            }
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// Runs `body` over `items`, at most `width` at a time (50, as the docker CLI does for bulk
/// removal); the first error wins after all finish.
public func parallel<T: Sendable>(_ items: [T], width: Int = 50, _ body: @escaping @Sendable (T) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var iterator = items.makeIterator()
        for _ in 0..<width {
            guard let item = iterator.next() else { break }
            group.addTask { try await body(item) }
        }
        while try await group.next() != nil {
            if let item = iterator.next() { group.addTask { try await body(item) } }
        }
    }
}

/// One journal entry: its fields (decoded as UTF-8, invalid bytes replaced), when journald
/// received it, and the cursor to resume after it.
public struct JournalEntry: Sendable, Equatable, Codable {
    public var fields: [String: String]
    /// Microseconds since the epoch (journald's receive time).
    public var realtimeMicroseconds: UInt64
    public var cursor: String

    public var message: String { fields["MESSAGE"] ?? "" }
    public subscript(field: String) -> String? { fields[field] }
}

/// An entry's exact bytes, for the journal export format.
public struct RawJournalEntry: Sendable {
    public var fields: [(String, [UInt8])]
    public var cursor: String
    public var realtimeMicroseconds: UInt64
    public var monotonicMicroseconds: UInt64
    public var bootID: String
}

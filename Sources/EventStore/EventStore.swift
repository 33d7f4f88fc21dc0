// API CONTRACT (to be implemented): see the EventStore helper brief.
import Foundation

/// The write side's durable log, in SQLite (WAL, synchronous=FULL).
/// Exactly one `EventStore` per data directory may be open (an exclusive file lock);
/// any number of `EventLogReader`s may read beside it. Not thread-safe: one owner thread.
public final class EventStore {
    /// Opens (creating if needed) the store in `directory`, taking its exclusive lock.
    /// - Throws: `EventStoreError` `.locked` (another process holds it, message names the pid),
    ///   `.io` (cannot create/write the directory), `.damaged` (not a Prism store, corrupt file).
    public init(directory: String) throws { fatalError("not implemented") }

    /// Position of the last stored event, 0 when the log is empty.
    public var headPosition: Int64 { fatalError("not implemented") }

    /// Appends every request in ONE transaction with one fsync; each request is checked and
    /// applied independently (a failed check writes nothing for that request, the others still commit).
    /// All events of one call get the same `recordedAt` (the commit time, ns since epoch).
    /// - Returns: one result per request, in order: the recorded events, or the failure.
    /// - Throws: only when the transaction itself fails (I/O); then nothing was written.
    public func append(_ requests: [AppendRequest]) throws -> [Result<[RecordedEvent], EventStoreError>] {
        fatalError("not implemented")
    }

    /// The version of the stream's last event, nil when the stream has none.
    public func streamVersion(_ stream: String) throws -> Int64? { fatalError("not implemented") }

    /// Events of one stream from `version` on, at most `limit`.
    public func readStream(_ stream: String, fromVersion version: Int64 = 0, limit: Int = 1000) throws -> [RecordedEvent] {
        fatalError("not implemented")
    }

    /// Events of the global log with position > `position`, in order, at most `limit`, filtered.
    public func read(after position: Int64, limit: Int, filter: EventFilter = .all) throws -> [RecordedEvent] {
        fatalError("not implemented")
    }

    /// The last position of each category (for gap detection by filtered subscribers).
    public func lastPositionByCategory() throws -> [String: Int64] { fatalError("not implemented") }
}

/// STUB: read-only access beside the writer.
public final class EventLogReader {
    public init(directory: String) throws { fatalError("not implemented") }
    public func headPosition() throws -> Int64 { fatalError() }
    public func read(after position: Int64, limit: Int, filter: EventFilter = .all) throws -> [RecordedEvent] { fatalError() }
}
extension EventLogReader {
    public func readStream(_ stream: String, fromVersion version: Int64 = 0, limit: Int = 1000) throws -> [RecordedEvent] { fatalError() }
}

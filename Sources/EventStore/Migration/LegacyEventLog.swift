import Foundation
import GRDB

/// A read-only view of a data directory's log, beside the write node's `EventStore`.
///
/// It takes no lock: in WAL mode readers never block the writer, and every read sees the
/// commits made before it started. Thread-safe (reads are serialized on one connection);
/// the write node's catch-up thread and projectors use one each.
public final class LegacyEventLog: Sendable {
    /// `<directory>/events.sqlite`.
    public let databasePath: String
    private let queue: DatabaseQueue

    /// Opens the store in `directory` read-only.
    /// - Parameters:
    ///   - directory: The data directory of a write node.
    /// - Throws: `EventStoreError` `.io` when there is no store there or it cannot be opened,
    ///   `.damaged` when the file is not a Prism store.
    public init(directory: String) throws {
        let path = LegacyStoreSchema.databasePath(in: directory)
        databasePath = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw EventStoreError(.io, "no event store at \(path) (the file does not exist)")
        }
        try LegacyStoreSchema.checkHeader(path: path)
        var configuration = Configuration()
        configuration.label = "LegacyEventLog"
        configuration.readonly = true
        // A checkpoint that resets the WAL can make a reader wait for a moment; wait, don't fail.
        configuration.busyMode = .timeout(5)
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.read { db in
                try LegacyStoreSchema.prepare(db, path: path, readOnly: true)
            }
        } catch {
            throw EventStoreError.translating(error, path: path, action: "open")
        }
    }

    /// Closes the connection; later reads throw. Idempotent.
    public func close() throws {
        try queue.close()
    }

    /// Position of the last stored event, 0 when the log is empty.
    public func headPosition() throws -> Int64 {
        try read(LegacyEventQueries.headPosition)
    }

    /// The version of the stream's last event, nil when the stream has none.
    public func streamVersion(_ stream: String) throws -> Int64? {
        try read { try LegacyEventQueries.streamVersion($0, stream: stream) }
    }

    /// Events of one stream from `version` on, in version order, at most `limit` (1...100_000).
    public func readStream(_ stream: String, fromVersion version: Int64 = 0, limit: Int = 1000) throws -> [RecordedEvent] {
        try read { try LegacyEventQueries.readStream($0, stream: stream, fromVersion: version, limit: limit) }
    }

    /// Events of the global log with position > `position`, in order, at most `limit` (1...100_000), filtered.
    public func read(after position: Int64, limit: Int, filter: EventFilter = .all) throws -> [RecordedEvent] {
        try read { try LegacyEventQueries.read($0, after: position, limit: limit, filter: filter) }
    }

    /// The last position of each category (for gap detection by filtered subscribers).
    public func lastPositionByCategory() throws -> [String: Int64] {
        try read(LegacyEventQueries.lastPositionByCategory)
    }

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.inDatabase(body)
        } catch {
            throw EventStoreError.translating(error, path: databasePath, action: "read")
        }
    }
}

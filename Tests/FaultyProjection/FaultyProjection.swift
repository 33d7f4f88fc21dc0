import EventStore
import GRDB
import ProjectionRuntime
import WireProtocol

/// A read model that fails on purpose, for the apply-error tests: it throws on every event of one
/// type (a projection bug) and can make its first batches fail as its store would (a full disk).
///
/// It keeps one row per event (`events(position, type)`) and answers `count`.
public final class FaultyProjection: SQLiteProjection {
    public let model: SQLiteReadModel
    public let category: String? = nil
    public let queryNames = ["count"]
    private let failOnType: String?
    private var storeFailuresLeft: Int

    /// - Parameters:
    ///   - failOnType: the event type the projection throws on; nil for none (the fixed build).
    ///   - storeFailures: how many of the first batches fail with a `ReadModelStoreError`.
    public init(directory: String, failOnType: String?, storeFailures: Int) throws {
        self.failOnType = failOnType
        storeFailuresLeft = storeFailures
        model = try SQLiteReadModel(directory: directory, fileName: "faulty.sqlite", tables: ["events"]) { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS events (position INTEGER PRIMARY KEY, type TEXT NOT NULL)")
        }
    }

    public func apply(_ events: [RecordedEvent], through position: Int64) throws {
        if storeFailuresLeft > 0 {
            storeFailuresLeft -= 1
            throw ReadModelStoreError("simulated: database or disk is full")
        }
        try model.apply(through: position) { db in
            for event in events { try apply(event, db) }
        }
    }

    public func apply(_ event: RecordedEvent, _ db: Database) throws {
        if event.type == failOnType { throw FaultyProjectionError(position: event.position) }
        try db.execute(sql: "INSERT INTO events (position, type) VALUES (?, ?)", arguments: [event.position, event.type])
    }

    public func query(_ name: String, params: JSONValue) throws -> JSONValue {
        guard name == "count" else { throw WireError(.unknownQuery, "unknown query '\(name)' (faulty answers: count)") }
        return .int(try model.read { db in try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM events") ?? 0 })
    }

    public func digest() throws -> String { try model.digest(["SELECT position, type FROM events ORDER BY position"]) }
}

/// The projection bug `FaultyProjection` simulates.
public struct FaultyProjectionError: Error, CustomStringConvertible {
    public var position: Int64
    public var description: String { "cannot project the event at position \(position) (a deliberate fault)" }
}

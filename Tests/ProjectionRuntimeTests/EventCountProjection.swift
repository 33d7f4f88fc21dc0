import EventStore
import GRDB
import ProjectionRuntime
import WireProtocol

/// How many events of each type the log holds: the worked example of docs/PROJECTORS.md.
final class EventCountProjection: Projection {
    private let model: SQLiteReadModel

    init(directory: String) throws {
        model = try SQLiteReadModel(directory: directory, fileName: "counts.sqlite", tables: ["counts"]) { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS counts (type TEXT PRIMARY KEY, n INTEGER NOT NULL)")
        }
    }

    /// Every category: this model counts them all.
    var category: String? { nil }
    var queryNames: [String] { ["count"] }

    func checkpoint() throws -> Int64 { try model.checkpoint() }

    func apply(_ events: [RecordedEvent], through position: Int64) throws {
        try model.apply(through: position) { db in
            for event in events {
                try db.execute(
                    sql: "INSERT INTO counts (type, n) VALUES (?, 1) ON CONFLICT(type) DO UPDATE SET n = n + 1",
                    arguments: [event.type])
            }
        }
    }

    func reset() throws { try model.reset() }

    func query(_ name: String, params: JSONValue) throws -> JSONValue {
        guard name == "count" else { throw WireError(.unknownQuery, "unknown query '\(name)' (counts answers: count)") }
        let type = try FieldReader(params, path: "params").string("type")
        let n = try model.read { db in
            try Int64.fetchOne(db, sql: "SELECT n FROM counts WHERE type = ?", arguments: [type]) ?? 0
        }
        return ["type": .string(type), "count": .int(n)]
    }

    func digest() throws -> String { try model.digest(["SELECT type, n FROM counts ORDER BY type"]) }
}

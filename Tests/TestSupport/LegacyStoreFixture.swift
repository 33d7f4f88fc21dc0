// The fixture writes EventStore's own `LegacyStoreSchema`, not a copy of it that could drift.
import EventStore
import Foundation
import GRDB

/// Data directories in the old single-SQLite format (`events.sqlite`), as a write node before the
/// segmented log left them: for the migration's tests.
public enum LegacyStoreFixture {
    /// Creates `<directory>/events.sqlite` (WAL, as the old write node kept it) holding `events`.
    public static func create(in directory: String, events: [RecordedEvent]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let database = try DatabasePool(path: LegacyStoreSchema.databasePath(in: directory))
        try database.write { db in
            try db.execute(sql: LegacyStoreSchema.createStatements)
            let insert = try db.makeStatement(sql: """
                INSERT INTO events (position, event_id, stream, version, category, type, data, metadata, recorded_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for event in events {
                let id = withUnsafeBytes(of: event.id.uuid) { Data($0) }
                try insert.execute(arguments: [
                    event.position, id, event.stream, event.version, event.category, event.type,
                    Data(event.data), event.metadata.map { Data($0) }, event.recordedAt,
                ])
            }
        }
        try database.close()
    }

    /// `count` events spread round-robin over `streams` streams in two categories, with JSON data,
    /// metadata on every third, and increasing recorded times.
    public static func sampleEvents(count: Int, streams: Int) -> [RecordedEvent] {
        var versions: [String: Int64] = [:]
        return (1...max(count, 1)).prefix(count).map { position in
            let stream = "\(position % 2 == 0 ? "order" : "user")-s\(position % streams)"
            let version = versions[stream, default: -1] + 1
            versions[stream] = version
            return RecordedEvent(
                id: UUID(), position: Int64(position), stream: stream, version: version,
                type: position % 3 == 0 ? "NoteAdded" : "Happened",
                data: Array(#"{"n":\#(position),"text":"event \#(position) of \#(stream)"}"#.utf8),
                metadata: position % 3 == 0 ? Array(#"{"by":"fixture"}"#.utf8) : nil,
                recordedAt: 1_700_000_000_000_000_000 + Int64(position) * 1_000_000)
        }
    }
}

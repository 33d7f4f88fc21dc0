import Foundation
import GRDB

/// The layout of the store before the segmented log (one SQLite file, `events.sqlite`, with one
/// `events` table versioned by `PRAGMA user_version`): read only to migrate it, and written by the
/// migration tests. Public for those tests.
public enum LegacyStoreSchema {
    /// The schema version this build writes and reads.
    static let version = 1

    /// The database file inside a data directory.
    public static func databasePath(in directory: String) -> String {
        (directory as NSString).appendingPathComponent("events.sqlite")
    }

    public static let createStatements = """
        CREATE TABLE events (
            position INTEGER PRIMARY KEY,
            event_id BLOB NOT NULL UNIQUE,
            stream TEXT NOT NULL,
            version INTEGER NOT NULL,
            category TEXT NOT NULL,
            type TEXT NOT NULL,
            data BLOB NOT NULL,
            metadata BLOB,
            recorded_at INTEGER NOT NULL,
            UNIQUE (stream, version)
        );
        CREATE INDEX events_category_position ON events (category, position);
        PRAGMA user_version = \(version);
        """

    /// The columns of `events`, in order, as `PRAGMA table_info` lists them.
    static let expectedColumns = [
        "position", "event_id", "stream", "version", "category", "type", "data", "metadata", "recorded_at",
    ]

    /// Refuses a file whose first bytes are not SQLite's header, before SQLite opens it.
    ///
    /// SQLite treats a file shorter than one page as an empty database and would write over it;
    /// a user's file that merely has our name must never be touched.
    static func checkHeader(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }  // absent: created later
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        if header.isEmpty { return }  // a zero-length file is an empty database
        if header != Data("SQLite format 3\u{0}".utf8) {
            throw EventStoreError(.damaged, "\(path) is not an SQLite database (its first bytes are not the SQLite header); move it away or choose another data directory")
        }
    }

    /// Creates the schema in an empty database, or checks that an existing one is ours.
    /// - Throws: `.damaged` when the database holds other tables, a newer or unknown schema
    ///   version, or an `events` table of another shape.
    static func prepare(_ db: Database, path: String, readOnly: Bool) throws {
        let userVersion = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        switch userVersion {
        case 0 where tables.isEmpty:
            if readOnly {
                throw EventStoreError(.damaged, "\(path) has no event schema yet (no write node has created it)")
            }
            try db.inTransaction(.immediate) {
                try db.execute(sql: createStatements)
                return .commit
            }
        case 0:
            throw EventStoreError(.damaged, "\(path) is an SQLite database without the Prism event schema (user_version 0, tables: \(tables.joined(separator: ", ")))")
        case version:
            try checkColumns(db, path: path)
        default:
            throw EventStoreError(.damaged, "\(path) has schema version \(userVersion); this build knows only version \(version)")
        }
    }

    private static func checkColumns(_ db: Database, path: String) throws {
        let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(events)").map { $0["name"] as String }
        guard columns == expectedColumns else {
            let found = columns.isEmpty ? "no events table" : "events columns: \(columns.joined(separator: ", "))"
            throw EventStoreError(.damaged, "\(path) claims schema version \(version) but has \(found); expected \(expectedColumns.joined(separator: ", "))")
        }
    }

    /// The invariant checked on every open (one pass over the primary key): positions are exactly
    /// 1...count.
    ///
    /// - Returns: the head position.
    @discardableResult
    static func checkGapFree(_ db: Database, path: String) throws -> Int64 {
        let row = try Row.fetchOne(db, sql: "SELECT count(*), coalesce(min(position), 0), coalesce(max(position), 0) FROM events")
        let count: Int64 = row?[0] ?? 0
        let first: Int64 = row?[1] ?? 0
        let last: Int64 = row?[2] ?? 0
        guard count == last, count == 0 || first == 1 else {
            throw EventStoreError(.damaged, "\(path) is not gap-free: \(count) events but positions \(first)...\(last)")
        }
        return last
    }
}

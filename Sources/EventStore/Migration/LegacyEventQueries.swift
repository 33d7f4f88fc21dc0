import GRDB

/// The read queries of the log, shared by `EventStore` (the writer's connection) and
/// `EventLogReader` (a read-only connection beside it).
enum LegacyEventQueries {
    /// Largest `limit` a read accepts.
    static let maxLimit = 100_000

    /// The columns every event read selects, in the order `recordedEvent(_:)` decodes them.
    static let columns = "position, event_id, stream, version, type, data, metadata, recorded_at"

    static func checkLimit(_ limit: Int) throws {
        guard (1...maxLimit).contains(limit) else {
            throw EventStoreError(.invalidArgument, "limit \(limit) is outside 1...\(maxLimit)")
        }
    }

    /// Position of the last event, 0 when the log is empty.
    static func headPosition(_ db: Database) throws -> Int64 {
        let statement = try RawStatement(db, sql: "SELECT coalesce(max(position), 0) FROM events")
        defer { statement.reset() }
        return try statement.step() ? statement.int64(0) : 0
    }

    /// Version of the stream's last event, nil when it has none.
    static func streamVersion(_ db: Database, stream: String) throws -> Int64? {
        let statement = try RawStatement(db, sql: "SELECT max(version) FROM events WHERE stream = ?")
        defer { statement.reset() }
        statement.bind(stream, at: 1)
        guard try statement.step(), !statement.isNull(0) else { return nil }
        return statement.int64(0)
    }

    /// Events of one stream from `version` on, in version order, at most `limit`.
    static func readStream(_ db: Database, stream: String, fromVersion version: Int64, limit: Int) throws -> [RecordedEvent] {
        try checkLimit(limit)
        let statement = try RawStatement(db, sql: """
            SELECT \(columns) FROM events WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?
            """)
        statement.bind(stream, at: 1)
        statement.bind(max(version, 0), at: 2)
        statement.bind(Int64(limit), at: 3)
        return try collect(statement)
    }

    /// Events with position > `position`, in order, at most `limit`, kept by `filter`.
    static func read(_ db: Database, after position: Int64, limit: Int, filter: EventFilter) throws -> [RecordedEvent] {
        try checkLimit(limit)
        let categories = unique(filter.categories)
        let types = unique(filter.types)
        let typeClause = types.isEmpty ? "" : " AND type IN (\(placeholders(types.count)))"
        let sql: String
        if categories.isEmpty {
            sql = "SELECT \(columns) FROM events WHERE position > ?\(typeClause) ORDER BY position LIMIT ?"
        } else {
            // One ordered range of the (category, position) index per category, each bounded by the
            // limit, then merged: a single `category IN (…)` would make SQLite gather and sort every
            // matching event after `position` before applying the limit.
            let branch = """
                SELECT * FROM (SELECT \(columns) FROM events \
                WHERE category = ? AND position > ?\(typeClause) ORDER BY position LIMIT ?)
                """
            sql = Array(repeating: branch, count: categories.count).joined(separator: " UNION ALL ")
                + " ORDER BY position LIMIT ?"
        }
        let statement = try RawStatement(db, sql: sql)
        var index: Int32 = 1
        func bind(_ value: String) { statement.bind(value, at: index); index += 1 }
        func bind(_ value: Int64) { statement.bind(value, at: index); index += 1 }
        if categories.isEmpty {
            bind(position)
            types.forEach(bind)
        } else {
            for category in categories {
                bind(category)
                bind(position)
                types.forEach(bind)
                bind(Int64(limit))
            }
        }
        bind(Int64(limit))
        return try collect(statement)
    }

    /// The last position of each category.
    static func lastPositionByCategory(_ db: Database) throws -> [String: Int64] {
        // Skip from category to category through the (category, position) index: two index
        // seeks per category, instead of a GROUP BY that scans the whole log.
        let next = try RawStatement(db, sql: "SELECT min(category) FROM events WHERE category > ?")
        let last = try RawStatement(db, sql: "SELECT max(position) FROM events WHERE category = ?")
        var result: [String: Int64] = [:]
        var category = ""
        while true {
            next.bind(category, at: 1)
            defer { next.reset() }
            guard try next.step(), !next.isNull(0) else { break }
            category = next.string(0)
            last.bind(category, at: 1)
            defer { last.reset() }
            if try last.step() {
                result[category] = last.int64(0)
            }
        }
        return result
    }

    /// Steps `statement` to the end, decoding one event per row, and resets it.
    static func collect(_ statement: RawStatement) throws -> [RecordedEvent] {
        defer { statement.reset() }
        var events: [RecordedEvent] = []
        while try statement.step() {
            events.append(try recordedEvent(statement))
        }
        return events
    }

    /// Decodes the current row, selected with `columns`.
    static func recordedEvent(_ row: RawStatement) throws -> RecordedEvent {
        let position = row.int64(0)
        guard let id = row.uuid(1) else {
            throw EventStoreError(.damaged, "event at position \(position) has an event_id that is not 16 bytes")
        }
        return RecordedEvent(
            id: id,
            position: position,
            stream: row.string(2),
            version: row.int64(3),
            type: row.string(4),
            data: row.bytes(5),
            metadata: row.isNull(6) ? nil : row.bytes(6),
            recordedAt: row.int64(7)
        )
    }

    private static func unique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }

    private static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }
}

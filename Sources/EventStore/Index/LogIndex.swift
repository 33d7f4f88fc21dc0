import Foundation
import GRDB
import Synchronization

/// The log's index, `<directory>/index.sqlite`: where each group starts, which categories each
/// group holds, each stream's events by version, and the heads of streams and categories.
///
/// Written in position order wherever it can be, so each commit appends pages instead of
/// rewriting random ones: positions and categories are indexed per group, not per event (a
/// group is read whole and filtered, as catch-up reads anyway); each event has one row keyed by
/// position that points back to the previous event of its stream, and every 1024th version of a
/// stream is marked, so a stream is read by walking back from a mark or its head. Per-event rows
/// keyed by stream rewrote a page per stream at every commit: with 5,000 streams and 3,000,000
/// events already indexed, appends ran at half their empty-log rate. Written only by the
/// `Indexer`, after the commit, in large transactions (`synchronous=NORMAL`: a crash may lose the
/// last transactions, never corrupt them); its checkpoint is in the same transaction, so on open
/// it resumes from the log exactly where it stopped. Deleted, it is rebuilt from the log.
final class LogIndex: Sendable {
    static let fileName = "index.sqlite"
    static let schemaVersion = 3

    let path: String
    /// A pool for the write node (the indexer writes while readers read); a read-only queue for tools.
    private let pool: any DatabaseWriter

    /// Where the indexer stopped: the last indexed position and where the next group starts.
    struct Checkpoint: Sendable, Equatable {
        var position: Int64
        var next: LogLocation
    }

    /// One indexed event.
    struct Entry: Sendable {
        var position: Int64
        var location: LogLocation
        var stream: String
        var version: Int64
    }

    /// - Parameters:
    ///   - readOnly: for tools beside a running node; the index must exist.
    init(directory: String, readOnly: Bool = false) throws {
        path = directory + "/" + Self.fileName
        var configuration = Configuration()
        configuration.label = "LogIndex"
        configuration.busyMode = .timeout(10)
        configuration.readonly = readOnly
        if !readOnly {
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536")
            }
        }
        do {
            if readOnly {
                guard FileManager.default.fileExists(atPath: path) else {
                    throw EventStoreError(.io, "no index at \(path)")
                }
                pool = try DatabaseQueue(path: path, configuration: configuration)
                let version = try pool.read { try Int.fetchOne($0, sql: "PRAGMA user_version") ?? 0 }
                guard version == Self.schemaVersion else {
                    throw EventStoreError(.damaged, "\(path) has index schema version \(version); this build knows \(Self.schemaVersion)")
                }
                return
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            try pool.write { db in
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                if version != 0 && version != Self.schemaVersion {
                    // Another layout of derived data: drop it, and the open rebuilds it from the log.
                    for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") {
                        try db.execute(sql: "DROP TABLE \"\(table)\"")
                    }
                }
                if version != Self.schemaVersion {
                    try db.execute(sql: Self.schema)
                }
            }
        } catch let error as EventStoreError {
            throw error
        } catch {
            throw EventStoreError(.io, "cannot open the index \(path): \(error)")
        }
    }

    static let schema = """
        CREATE TABLE streams (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, version INTEGER NOT NULL, position INTEGER NOT NULL);
        CREATE TABLE categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, position INTEGER NOT NULL);
        CREATE TABLE events (
            position INTEGER PRIMARY KEY, stream INTEGER NOT NULL, version INTEGER NOT NULL,
            previous INTEGER NOT NULL, segment INTEGER NOT NULL, offset INTEGER NOT NULL);
        CREATE TABLE stream_marks (stream INTEGER NOT NULL, version INTEGER NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (stream, version)) WITHOUT ROWID;
        CREATE TABLE groups (position INTEGER PRIMARY KEY, segment INTEGER NOT NULL, offset INTEGER NOT NULL, count INTEGER NOT NULL);
        CREATE TABLE category_groups (category INTEGER NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (category, position)) WITHOUT ROWID;
        CREATE TABLE checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL, segment INTEGER NOT NULL, offset INTEGER NOT NULL);
        PRAGMA user_version = \(schemaVersion);
        """

    /// Every this many versions a stream's event is marked in `stream_marks`.
    static let markEvery: Int64 = 1024

    func close() throws {
        if let pool = pool as? DatabasePool { try pool.close() }
        if let queue = pool as? DatabaseQueue { try queue.close() }
    }

    // MARK: - Reads

    func checkpoint() throws -> Checkpoint? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT position, segment, offset FROM checkpoint").map {
                Checkpoint(position: $0[0], next: LogLocation(segment: $0[1], offset: $0[2]))
            }
        }
    }

    /// An indexed group: its first position, where it starts, how many events it holds.
    struct Group: Sendable, Equatable {
        var position: Int64
        var location: LogLocation
        var count: Int
    }

    /// The group holding `position`.
    func group(containing position: Int64) throws -> Group? {
        try read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT position, segment, offset, count FROM groups WHERE position <= ? ORDER BY position DESC LIMIT 1"), arguments: [position]).map(Self.group)
        }
    }

    private static func group(_ row: Row) -> Group {
        Group(position: row[0], location: LogLocation(segment: row[1], offset: row[2]), count: row[3])
    }

    /// The stream's last indexed version and position.
    func streamHead(_ stream: String) throws -> (version: Int64, position: Int64)? {
        try read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT version, position FROM streams WHERE name = ?"), arguments: [stream]).map { ($0[0], $0[1]) }
        }
    }

    func categoryHeads() throws -> [String: Int64] {
        try read { db in
            var heads: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, position FROM categories") { heads[row[0]] = row[1] }
            return heads
        }
    }

    /// Locations of a stream's events from `version` on, at most `limit`, none past `upTo`:
    /// found by walking back the stream's chain from the nearest mark at or after the last
    /// version wanted (or from the stream's head), so at most `limit + markEvery` steps.
    func streamLocations(_ stream: String, fromVersion version: Int64, limit: Int, upTo: Int64) throws -> [(position: Int64, location: LogLocation)] {
        try read { db in
            guard let head = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, version, position FROM streams WHERE name = ?"), arguments: [stream]) else { return [] }
            let (id, headVersion, headPosition): (Int64, Int64, Int64) = (head[0], head[1], head[2])
            let from = max(version, 0)
            // Checked first: `from + limit` overflows for a `fromVersion` near Int64.max.
            guard from <= headVersion, headPosition > 0 else { return [] }
            let last = min(from + Int64(limit) - 1, headVersion)
            var position = headPosition
            if let mark = try Int64.fetchOne(db.cachedStatement(sql: "SELECT position FROM stream_marks WHERE stream = ? AND version >= ? ORDER BY version LIMIT 1"), arguments: [id, last]) {
                position = mark
            }
            let step = try db.cachedStatement(sql: "SELECT version, previous, segment, offset FROM events WHERE position = ?")
            var found: [(position: Int64, location: LogLocation)] = []
            while position > 0, let row = try Row.fetchOne(step, arguments: [position]) {
                let eventVersion: Int64 = row[0]
                if eventVersion < from { break }
                if eventVersion <= last && position <= upTo {
                    found.append((position, LogLocation(segment: row[2], offset: row[3])))
                }
                position = row[1]
            }
            return found.reversed()
        }
    }

    /// Groups that may hold events after `position` (up to `upTo`) of the filter's categories
    /// (all groups when it names none), in order, at most `limit`: the group holding
    /// `position + 1` and the ones after it.
    func groups(after position: Int64, upTo: Int64, limit: Int, categories: [String]) throws -> [Group] {
        try read { db in
            let first = try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(position) FROM groups WHERE position <= ?"), arguments: [position + 1]) ?? 1
            if categories.isEmpty {
                return try Row.fetchAll(db.cachedStatement(sql: "SELECT position, segment, offset, count FROM groups WHERE position >= ? AND position <= ? ORDER BY position LIMIT ?"), arguments: [first, upTo, limit]).map(Self.group)
            }
            let ids = try Self.ids(db, table: "categories", names: categories)
            if ids.isEmpty { return [] }
            // One ordered range of the (category, position) key per category, each bounded by the
            // limit, then merged: `category IN (…)` would gather and sort every match first.
            let branch = "SELECT * FROM (SELECT position FROM category_groups WHERE category = ? AND position >= ? AND position <= ? ORDER BY position LIMIT ?)"
            let union = Array(repeating: branch, count: ids.count).joined(separator: " UNION ")
            var arguments: StatementArguments = []
            for id in ids { arguments += [id, first, upTo, limit] }
            arguments += [limit]
            return try Row.fetchAll(db, sql: """
                SELECT g.position, g.segment, g.offset, g.count FROM (\(union) ORDER BY position LIMIT ?) c
                JOIN groups g ON g.position = c.position ORDER BY g.position
                """, arguments: arguments).map(Self.group)
        }
    }

    /// Every indexed (position, stream, version, location), in position order, for `prism store verify`.
    func forEachEntry(_ body: (Int64, String, Int64, LogLocation) throws -> Void) throws {
        try read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT e.position, s.name, e.version, e.segment, e.offset FROM events e JOIN streams s ON s.id = e.stream ORDER BY e.position")
            while let row = try rows.next() { try body(row[0], row[1], row[2], LogLocation(segment: row[3], offset: row[4])) }
        }
    }

    private static func ids(_ db: Database, table: String, names: [String]) throws -> [Int64] {
        guard !names.isEmpty else { return [] }
        let placeholders = Array(repeating: "?", count: names.count).joined(separator: ",")
        return try Int64.fetchAll(db, sql: "SELECT id FROM \(table) WHERE name IN (\(placeholders))", arguments: StatementArguments(names))
    }

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch let error as EventStoreError {
            throw error
        } catch {
            throw EventStoreError(.io, "cannot read the index \(path): \(error)")
        }
    }

    // MARK: - Writes (the indexer's thread only)

    /// Name → id caches of the writer; cleared when large (they refill from the tables).
    private let writerCaches = Mutex(WriterCaches())
    private struct WriterCaches {
        /// A stream's id, its category's id, and the position of its last indexed event.
        var streams: [String: (id: Int64, category: Int64, last: Int64)] = [:]
        var categories: [String: Int64] = [:]
    }

    /// Indexes whole groups of events in one transaction, with the checkpoint after them.
    func add(_ entries: [Entry], groups: [(position: Int64, location: LogLocation)], checkpoint: Checkpoint) throws {
        do {
            try writerCaches.withLock { caches in
                if caches.streams.count > 200_000 { caches.streams.removeAll() }
                try pool.write { db in
                    try Self.insert(entries, groups: groups, checkpoint: checkpoint, db: db, caches: &caches)
                }
            }
        } catch {
            // The transaction rolled back: ids cached during it may not exist.
            writerCaches.withLock { $0 = WriterCaches() }
            throw EventStoreError(.io, "cannot write the index \(path): \(error)")
        }
    }

    /// Runs once per indexed event, so it binds through the SQLite C API (`RawStatement`):
    /// GRDB's boxed arguments were a third of the indexer's time.
    private static func insert(
        _ entries: [Entry], groups: [(position: Int64, location: LogLocation)], checkpoint: Checkpoint,
        db: Database, caches: inout WriterCaches
    ) throws {
        let insertEvent = try RawStatement(db, sql: "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)")
        let insertMark = try RawStatement(db, sql: "INSERT INTO stream_marks VALUES (?, ?, ?)")
        let insertGroup = try RawStatement(db, sql: "INSERT INTO groups VALUES (?, ?, ?, ?)")
        let insertCategoryGroup = try RawStatement(db, sql: "INSERT OR IGNORE INTO category_groups VALUES (?, ?)")
        var streamHeads: [Int64: (version: Int64, position: Int64)] = [:]
        var categoryHeads: [Int64: Int64] = [:]
        for (index, group) in groups.enumerated() {
            let end = index + 1 < groups.count ? groups[index + 1].position : checkpoint.position + 1
            insertGroup.bind(group.position, at: 1)
            insertGroup.bind(group.location.segment, at: 2)
            insertGroup.bind(Int64(group.location.offset), at: 3)
            insertGroup.bind(end - group.position, at: 4)
            try insertGroup.run()
        }
        var groupIndex = 0
        var categoriesInGroup: [Int64] = []
        for entry in entries {
            while groupIndex + 1 < groups.count, entry.position >= groups[groupIndex + 1].position {
                categoriesInGroup.removeAll(keepingCapacity: true)
                groupIndex += 1
            }
            var ids: (id: Int64, category: Int64, last: Int64)
            if let cached = caches.streams[entry.stream] {
                ids = cached
            } else {
                let category = try categoryID(StreamName.category(of: entry.stream), cache: &caches.categories, db: db)
                if let row = try Row.fetchOne(db, sql: "SELECT id, position FROM streams WHERE name = ?", arguments: [entry.stream]) {
                    ids = (row[0], category, row[1])
                } else {
                    try db.execute(sql: "INSERT INTO streams (name, version, position) VALUES (?, -1, 0)", arguments: [entry.stream])
                    ids = (db.lastInsertedRowID, category, 0)
                }
            }
            insertEvent.bind(entry.position, at: 1)
            insertEvent.bind(ids.id, at: 2)
            insertEvent.bind(entry.version, at: 3)
            insertEvent.bind(ids.last, at: 4)
            insertEvent.bind(entry.location.segment, at: 5)
            insertEvent.bind(Int64(entry.location.offset), at: 6)
            try insertEvent.run()
            if entry.version % markEvery == 0 {
                insertMark.bind(ids.id, at: 1)
                insertMark.bind(entry.version, at: 2)
                insertMark.bind(entry.position, at: 3)
                try insertMark.run()
            }
            ids.last = entry.position
            caches.streams[entry.stream] = ids
            // A group holds few categories: a linear scan beats hashing.
            if !categoriesInGroup.contains(ids.category) {
                categoriesInGroup.append(ids.category)
                insertCategoryGroup.bind(ids.category, at: 1)
                insertCategoryGroup.bind(groups[groupIndex].position, at: 2)
                try insertCategoryGroup.run()
            }
            streamHeads[ids.id] = (entry.version, entry.position)
            categoryHeads[ids.category] = entry.position
        }
        let updateStream = try RawStatement(db, sql: "UPDATE streams SET version = ?, position = ? WHERE id = ?")
        for (stream, head) in streamHeads {
            updateStream.bind(head.version, at: 1)
            updateStream.bind(head.position, at: 2)
            updateStream.bind(stream, at: 3)
            try updateStream.run()
        }
        let updateCategory = try db.cachedStatement(sql: "UPDATE categories SET position = ? WHERE id = ?")
        for (category, position) in categoryHeads { try updateCategory.execute(arguments: [position, category]) }
        try db.execute(
            sql: "INSERT INTO checkpoint VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET position = excluded.position, segment = excluded.segment, offset = excluded.offset",
            arguments: [checkpoint.position, checkpoint.next.segment, checkpoint.next.offset])
    }

    /// The id of a category, created on first use.
    private static func categoryID(_ name: String, cache: inout [String: Int64], db: Database) throws -> Int64 {
        if let id = cache[name] { return id }
        if let id = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM categories WHERE name = ?"), arguments: [name]) {
            cache[name] = id
            return id
        }
        try db.cachedStatement(sql: "INSERT INTO categories (name, position) VALUES (?, 0)").execute(arguments: [name])
        cache[name] = db.lastInsertedRowID
        return db.lastInsertedRowID
    }
}

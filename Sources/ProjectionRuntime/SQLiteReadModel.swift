import EventStore
import Foundation
import GRDB
import WireProtocol

/// The SQLite plumbing a relational read model needs: the file, the checkpoint table, one
/// transaction per applied batch, reset and digest.
///
/// Durability is `synchronous=NORMAL` in WAL: a read model may lose its last transactions in a
/// power cut, but the checkpoint goes with them, so the runtime simply replays those events.
///
/// WAL checkpoints run on a thread and connection of their own (`WALCheckpointer`), never inside
/// an apply's commit; `journal_size_limit` truncates the WAL back after one grew large.
public final class SQLiteReadModel: @unchecked Sendable {
    public let queue: DatabaseQueue
    private let checkpointer: WALCheckpointer
    private static let checkpointSchema =
        "CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL)"
    public let path: String
    private let schema: (Database) throws -> Void
    private let tables: [String]
    private let deferredIndexes: [DeferredIndex]
    /// Whether `deferredIndexes` exist yet (false while a model built from empty catches up).
    public private(set) var hasDeferredIndexes = false

    /// Opens (creating) `<directory>/<fileName>`.
    ///
    /// - Parameters:
    ///   - tables: the model's tables and virtual tables, dropped by `reset`.
    ///   - schemaVersion: the layout `schema` creates (SQLite's `user_version`); a file of another
    ///     layout is emptied (tables and checkpoint) so that the runtime rebuilds it from the log.
    ///   - checkpoints: when the WAL is checkpointed (`WALCheckpointer`).
    ///   - deferredIndexes: indexes that only queries use: a model without them builds them once it reached the head
    ///     (`createDeferredIndexes`, from `Projection.reachedHead`), which is cheaper than keeping
    ///     them up to date through a catch-up from position 0. A restart in the middle of that
    ///     catch-up keeps waiting for the head; queries before it are answered without them.
    ///   - schema: creates the model's tables (`CREATE TABLE IF NOT EXISTS …`); run at open and after `reset`.
    public init(
        directory: String, fileName: String, tables: [String], schemaVersion: Int = 0,
        checkpoints: WALCheckpointer.Thresholds = .init(), deferredIndexes: [DeferredIndex] = [],
        schema: @escaping (Database) throws -> Void
    ) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent(fileName)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: """
                PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;
                PRAGMA journal_size_limit = 67108864
                """)
        }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        self.schema = schema
        self.tables = tables
        self.deferredIndexes = deferredIndexes
        try queue.write { db in
            if try Int.fetchOne(db, sql: "PRAGMA user_version") != schemaVersion {
                try Self.drop(tables, db)
                try db.execute(sql: "PRAGMA user_version = \(schemaVersion)")
            }
            try db.execute(sql: Self.checkpointSchema)
            try schema(db)
        }
        let pageSize = try queue.inDatabase { db in try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096 }
        checkpointer = WALCheckpointer(path: path, pageSize: pageSize, thresholds: checkpoints)
        queue.inDatabase { db in checkpointer.install(on: db.sqliteConnection!) }
        hasDeferredIndexes = try queue.inDatabase { db in
            try deferredIndexes.allSatisfy { index in
                try Bool.fetchOne(db, sql: "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'index' AND name = ?", arguments: [index.name]) ?? false
            }
        }
    }

    /// Builds the deferred indexes (once; a no-op after). An index built over a finished table is
    /// one sort, where keeping it through a catch-up costs a random B-tree insert per change.
    public func createDeferredIndexes() throws {
        guard !hasDeferredIndexes else { return }
        try queue.write { db in
            for index in deferredIndexes { try db.execute(sql: index.createStatement) }
        }
        hasDeferredIndexes = true
    }

    deinit {
        queue.inDatabase { db in checkpointer.uninstall(from: db.sqliteConnection!) }
        checkpointer.stop()
    }

    /// The WAL's size and its checkpoints so far.
    public var walStatus: WALStatus { checkpointer.currentStatus }

    /// Runs a read on the model's connection.
    ///
    /// Use this rather than `queue.read`: GRDB's `read` toggles `PRAGMA query_only`, and changing
    /// a flag pragma expires every prepared statement, so each query would make the next batch
    /// re-prepare all of its cached statements. The projector's single thread needs no such guard.
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try queue.inDatabase(body)
    }

    public func checkpoint() throws -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT position FROM checkpoint WHERE id = 1") ?? 0 }
    }

    /// How long the last `apply`'s COMMIT took, in ns (the projector reports it as a lag stage).
    public private(set) var lastCommitNanoseconds: Int64 = 0

    /// Runs `body` and stores `position` as the checkpoint, in one transaction.
    public func apply(through position: Int64, _ body: (Database) throws -> Void) throws {
        var commitStartedAt: Int64 = 0
        try queue.writeWithoutTransaction { db in
            try db.inTransaction {
                try body(db)
                try db.execute(sql: "INSERT INTO checkpoint (id, position) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET position = excluded.position",
                               arguments: [position])
                commitStartedAt = monotonicNanoseconds()
                return .commit
            }
        }
        lastCommitNanoseconds = monotonicNanoseconds() - commitStartedAt
        queue.inDatabase { db in checkpointer.checkpointIfOverdue(db.sqliteConnection!) }
    }

    /// Drops every table and the checkpoint, then recreates the schema.
    public func reset() throws {
        try queue.write { db in
            try Self.drop(tables, db)
            try db.execute(sql: Self.checkpointSchema)
            try schema(db)
        }
        hasDeferredIndexes = false
    }

    private static func drop(_ tables: [String], _ db: Database) throws {
        for table in tables + ["checkpoint"] { try db.execute(sql: "DROP TABLE IF EXISTS \(table)") }
    }

    /// A digest of the rows of each `SELECT` (which must order its rows), in order.
    public func digest(_ selects: [String]) throws -> String {
        try read { db in
            var digest = Digest()
            for sql in selects {
                let rows = try Row.fetchCursor(db, sql: sql)
                while let row = try rows.next() {
                    for value in row.databaseValues { digest.add(value.description) }
                    digest.add("\n")
                }
            }
            return digest.hex
        }
    }
}

/// An index a model builds only once it reached the head (`SQLiteReadModel`'s `deferredIndexes`).
public struct DeferredIndex: Sendable {
    public var name: String
    /// What follows `ON`: the table and its columns, e.g. `orders (status, amount_cents)`.
    public var on: String

    public init(name: String, on: String) {
        self.name = name
        self.on = on
    }

    var createStatement: String { "CREATE INDEX IF NOT EXISTS \(name) ON \(on)" }
}

/// FNV-1a, 64 bits: enough to tell two read models apart in a test, not a cryptographic hash.
public struct Digest: Sendable {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func add(_ text: String) {
        for byte in text.utf8 {
            state ^= UInt64(byte)
            state = state &* 0x0000_0100_0000_01B3
        }
        state ^= 0xFF
        state = state &* 0x0000_0100_0000_01B3
    }

    public var hex: String {
        let text = String(state, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}

/// A projection whose whole state is one `SQLiteReadModel`: checkpoint, batch transaction and
/// reset come from the model; the projection says how one event changes its tables.
public protocol SQLiteProjection: Projection {
    var model: SQLiteReadModel { get }

    /// Applies one event inside the batch's transaction. Unknown or malformed events are skipped.
    func apply(_ event: RecordedEvent, _ db: Database) throws
}

extension SQLiteProjection {
    public func checkpoint() throws -> Int64 { try model.checkpoint() }

    public var lastCommitNanoseconds: Int64 { model.lastCommitNanoseconds }

    public func apply(_ events: [RecordedEvent], through position: Int64) throws {
        try model.apply(through: position) { db in
            for event in events { try apply(event, db) }
        }
    }

    public func reset() throws { try model.reset() }

    public func reachedHead() throws { try model.createDeferredIndexes() }

    public var statistics: JSONValue? { ["wal": model.walStatus.json] }
}

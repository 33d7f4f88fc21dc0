import GRDB

/// Connection settings for the SQL read models' write pattern, on top of `SQLiteReadModel`'s.
enum OrdersSQLiteTuning {
    /// WAL pages before an automatic checkpoint (SQLite's default is 1000, 4 MB).
    ///
    /// A batch of a thousand orders touches pages all over the status and user indexes, so one
    /// transaction can exceed 1000 WAL pages; with the default every commit then checkpoints,
    /// and each checkpoint is an fsync of the database file. 16384 pages (64 MB) lets many
    /// batches share one checkpoint; the WAL file is truncated back after it.
    static let walAutocheckpointPages = 16384

    static func apply(_ db: Database) throws {
        try db.execute(sql: "PRAGMA wal_autocheckpoint = \(walAutocheckpointPages)")
        // Keep the WAL file from staying at its high-water size after a checkpoint.
        try db.execute(sql: "PRAGMA journal_size_limit = \(walAutocheckpointPages * 4096)")
    }
}

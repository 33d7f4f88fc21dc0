import Foundation
import PostgresNIO
import PostgresStore

/// The initial snapshot of newly captured tables, consistent with the slot's start without the
/// replication protocol's `EXPORT_SNAPSHOT`.
///
/// The slot exists first. Then one REPEATABLE READ transaction records its snapshot
/// (`pg_current_snapshot()`, and the WAL insert position as the horizon), copies every new
/// table's rows into `prism_cdc_snapshot_rows`, and records the tables as captured, all or none.
/// A streamed transaction that this snapshot sees committed is already in the copied rows and
/// is skipped for these tables; every other one is emitted. Whatever the slot decodes before the
/// snapshot was committed before it, so nothing falls between the two, and the copy makes the
/// snapshot durable: a crash while it is being relayed resumes at the next copied row (the rows
/// are deleted as the write node stores them), with the same event ids.
enum CDCSnapshot {
    /// Copies `tables` (in this order) for `slot` in one snapshot.
    ///
    /// - Returns: the snapshot as `pg_current_snapshot()` wrote it.
    /// - Throws: `CDCError` for a missing table or one without a primary key; nothing is recorded then.
    static func copy(_ tables: [TableName], slot: String, session: PostgresSession) throws -> String {
        try session.transaction {
            // The first statement takes the transaction's snapshot: the one the copies read.
            try session.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            let (snapshot, horizon) = try session.query("SELECT pg_current_snapshot()::text, pg_current_wal_insert_lsn()::text")
                .first!.decode((String, String).self)
            for table in tables {
                let keyColumns = try primaryKey(of: table, session: session)
                try session.query("""
                    INSERT INTO prism_cdc_snapshot_rows (slot, table_name, key_columns, row)
                    SELECT \(slot), \(table.description), \(keyColumns), to_jsonb(t) FROM \(unescaped: table.quoted) t
                    ORDER BY \(unescaped: keyColumns.map(TableName.quoted).joined(separator: ", "))
                    """)
                try session.query("""
                    INSERT INTO prism_cdc_tables (slot, table_name, snapshot, horizon) VALUES (\(slot), \(table.description), \(snapshot), \(horizon)::pg_lsn)
                    ON CONFLICT (slot, table_name) DO UPDATE SET snapshot = EXCLUDED.snapshot, horizon = EXCLUDED.horizon
                    """)
            }
            return snapshot
        }
    }

    /// The table's primary key columns in key order.
    ///
    /// - Throws: `CDCError` when the table does not exist or has no primary key (its rows could
    ///   not name a stream).
    static func primaryKey(of table: TableName, session: PostgresSession) throws -> [String] {
        guard try session.query("SELECT to_regclass(\(table.quoted)) IS NOT NULL").first?.decode(Bool.self) == true else {
            throw CDCError("table \(table) does not exist")
        }
        let columns = try session.query("""
            SELECT a.attname::text FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = \(table.quoted)::regclass AND i.indisprimary
            ORDER BY array_position(i.indkey::int2[], a.attnum)
            """).map { try $0.decode(String.self) }
        guard !columns.isEmpty else { throw CDCError("table \(table) has no primary key: CDC names each row's stream by it") }
        return columns
    }
}

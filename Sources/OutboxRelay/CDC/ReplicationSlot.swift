import PostgresNIO
import PostgresStore

/// The logical replication slot CDC reads, with wal2json, through SQL functions only
/// (postgres-nio speaks no replication protocol).
///
/// Reading never consumes: `pg_logical_slot_peek_changes` decodes from the slot's confirmed
/// position each time, and `pg_replication_slot_advance` moves that position only once the
/// write node has stored what was read. `pg_logical_slot_get_changes`, which consumes on read,
/// would lose what a crash interrupts between the read and the write node's acknowledgement.
struct ReplicationSlot {
    let name: String

    /// Whether `name` is a slot name PostgreSQL takes: 1…63 lowercase letters, digits, `_`.
    static func problem(with name: String) -> String? {
        let allowed = name.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 }
        return !name.isEmpty && name.utf8.count <= 63 && allowed
            ? nil : "slot name '\(name)' must be 1-63 lowercase letters, digits or '_'"
    }

    /// Whether the slot exists.
    ///
    /// - Throws: `CDCError` when a slot of that name decodes with another plugin.
    func exists(_ session: PostgresSession) throws -> Bool {
        guard let row = try session.query("SELECT plugin::text FROM pg_replication_slots WHERE slot_name = \(name)").first else {
            return false
        }
        let plugin = try row.decode(String?.self)
        guard plugin == "wal2json" else {
            throw CDCError("replication slot \(name) decodes with \(plugin ?? "nothing (a physical slot)"), not wal2json: drop it or name another with --slot")
        }
        return true
    }

    /// Creates the slot with wal2json. This waits for the transactions running now to end: the
    /// slot decodes every transaction that commits after it.
    func create(_ session: PostgresSession) throws {
        try session.query("SELECT pg_create_logical_replication_slot(\(name), 'wal2json')")
    }

    /// The decoded rows from the slot's confirmed position: whole transactions (PostgreSQL
    /// stops after the transaction that reaches `maxRows`), changes of `tables` only.
    func peek(_ session: PostgresSession, tables: [TableName], maxRows: Int) throws -> [(lsn: LSN, data: String)] {
        let filter = tables.map(\.wal2jsonPattern).joined(separator: ",")
        let rows = try session.query("""
            SELECT lsn::text, data FROM pg_logical_slot_peek_changes(\(name), NULL, \(Int32(clamping: maxRows)),
                'format-version', '2', 'include-xids', '1', 'include-timestamp', '1', 'include-lsn', '1',
                'include-pk', '1', 'add-tables', \(filter))
            """)
        return try rows.map { row in
            let (lsn, data) = try row.decode((String, String).self)
            guard let position = LSN(lsn) else { throw CDCError("slot \(name) returned LSN '\(lsn)'") }
            return (position, data)
        }
    }

    /// Moves the slot's confirmed position to `lsn` (never back): PostgreSQL may then recycle the
    /// WAL before it, and the next peek starts there.
    func advance(_ session: PostgresSession, to lsn: LSN) throws {
        try session.query("""
            SELECT pg_replication_slot_advance(slot_name, \(lsn.description)::pg_lsn)
            FROM pg_replication_slots WHERE slot_name = \(name) AND confirmed_flush_lsn < \(lsn.description)::pg_lsn
            """)
    }

    /// The slot's WAL retention now, for `health` and `stats`.
    func status(_ session: PostgresSession) throws -> SlotStatus {
        let rows = try session.query("""
            SELECT s.wal_status, (pg_current_wal_lsn() - s.restart_lsn)::bigint, s.safe_wal_size,
                   s.confirmed_flush_lsn::text, pg_current_wal_lsn()::text, current_setting('max_slot_wal_keep_size')
            FROM pg_replication_slots s WHERE s.slot_name = \(name)
            """)
        guard let row = rows.first else { return SlotStatus(slot: name, exists: false) }
        let (walStatus, retained, safe, confirmed, current, keep) = try row.decode((String?, Int64?, Int64?, String?, String, String).self)
        return SlotStatus(slot: name, exists: true, walStatus: walStatus, retainedBytes: retained, safeWALBytes: safe,
                          confirmedFlush: confirmed.flatMap(LSN.init), currentLSN: LSN(current), maxSlotWALKeepSize: keep)
    }
}

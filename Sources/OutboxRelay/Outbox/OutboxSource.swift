import Foundation
import JSON
import PostgresNIO
import PostgresStore

/// The transactional outbox: rows the application inserts into `prism_outbox` in the same
/// transaction as its own changes, relayed in `seq` order and deleted once the write node has
/// stored them (docs/OUTBOX.md).
///
/// **Why delete-after-relay.** A sequence value is taken when a row is inserted, not when its
/// transaction commits: a transaction that took `seq` 7 can commit after one that took 8. A
/// relay that remembered "done up to 8" would skip 7 for ever. This one remembers nothing of the
/// kind: every batch is the oldest rows still in the table, and a row leaves the table only in the
/// transaction that records it relayed. A row that commits late is simply still there for the
/// next batch.
public final class OutboxSource: ChangeSource {
    public let name = "outbox"
    public let lockName = "prism_outbox"
    public let notificationChannel: String? = "prism_outbox"

    public init() {}

    /// The outbox table and its notifying trigger, one statement each.
    ///
    /// **Why the trigger notifies only while the relay waits.** PostgreSQL serializes the commits
    /// of every transaction that sent a `NOTIFY` (one lock on the notification queue, held through
    /// the commit's WAL flush), so notifying transactions lose group commit: 16 application
    /// connections committed 1,505 transactions/s without the trigger and 444/s with one that
    /// always notified. A relay that is busy polls anyway, so it clears `prism_outbox_relay.waiting`
    /// while it has work and sets it just before it waits; only transactions inserting while it
    /// waits pay for a notification, and under load none do.
    public static let tableSchema = [
        """
        CREATE TABLE IF NOT EXISTS prism_outbox (
            seq bigserial NOT NULL,
            id uuid PRIMARY KEY,
            stream text NOT NULL,
            type text NOT NULL,
            data jsonb NOT NULL,
            metadata jsonb,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX IF NOT EXISTS prism_outbox_seq ON prism_outbox (seq)",
        """
        CREATE TABLE IF NOT EXISTS prism_outbox_relay (
            single boolean PRIMARY KEY DEFAULT true CHECK (single),
            waiting boolean NOT NULL DEFAULT true
        )
        """,
        "INSERT INTO prism_outbox_relay DEFAULT VALUES ON CONFLICT DO NOTHING",
        """
        CREATE OR REPLACE FUNCTION prism_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (SELECT waiting FROM prism_outbox_relay) IS NOT FALSE THEN
                PERFORM pg_notify('prism_outbox', '');
            END IF;
            RETURN NULL;
        END $$
        """,
        """
        CREATE OR REPLACE TRIGGER prism_outbox_notify AFTER INSERT ON prism_outbox
            FOR EACH STATEMENT EXECUTE FUNCTION prism_outbox_notify()
        """,
    ]

    public var schema: [String] { Self.tableSchema }

    public func prepare(_ database: RelayDatabase) throws {}

    public func noteRelayWaiting(_ waiting: Bool, _ database: RelayDatabase) throws {
        try database.session.query("UPDATE prism_outbox_relay SET waiting = \(waiting)")
    }

    public func nextBatch(_ database: RelayDatabase, limit: Int) throws -> SourceBatch {
        let rows = try database.session.query("""
            SELECT id, stream, type, data::text, metadata::text, created_at FROM prism_outbox ORDER BY seq LIMIT \(limit)
            """)
        var batch = SourceBatch(events: [])
        for row in rows {
            let (id, stream, type, dataText, metadataText, createdAt) = try row.decode((UUID, String, String, String, String?, Date?).self)
            var event = RelayEvent(id: id, stream: stream, type: type, data: .null, committedAt: createdAt)
            do {
                event.data = try JSONParser.parse(dataText)
                event.metadata = try metadataText.map { try JSONParser.parse($0) }
                batch.events.append(event)
            } catch {
                // jsonb is JSON, but not always JSON the log takes (a number beyond 64 bits, nesting too deep).
                batch.deadLetters.append(DeadLetter(event: event, reason: "data or metadata cannot be relayed: \(error)"))
            }
        }
        return batch
    }

    /// In one transaction: the streams' versions, the dead letters moved (the row as it was, with
    /// the reason), the relayed rows deleted.
    public func acknowledge(_ relayed: RelayedBatch, in database: RelayDatabase) throws {
        let session = database.session
        try session.transaction {
            try database.recordStreamVersions(relayed.streamVersions)
            if !relayed.deadLetters.isEmpty {
                let ids = relayed.deadLetters.map(\.event.id)
                let reasons = relayed.deadLetters.map(\.reason)
                try session.query("""
                    WITH parked AS (DELETE FROM prism_outbox WHERE id = ANY(\(ids)) RETURNING *)
                    INSERT INTO prism_outbox_dead_letter (id, stream, type, data, metadata, created_at, reason, source)
                    SELECT parked.id, parked.stream, parked.type, parked.data, parked.metadata, parked.created_at, why.reason, 'outbox'
                    FROM parked JOIN unnest(\(ids)::uuid[], \(reasons)::text[]) AS why(id, reason) ON why.id = parked.id
                    ON CONFLICT (id) DO NOTHING
                    """)
                database.logDeadLetters(relayed.deadLetters)
            }
            let relayedIDs = Array(relayed.positions.keys)
            if !relayedIDs.isEmpty { try session.query("DELETE FROM prism_outbox WHERE id = ANY(\(relayedIDs))") }
        }
    }

    public func waitingCount(_ database: RelayDatabase) throws -> Int64? {
        try database.session.query("SELECT count(*) FROM prism_outbox").first?.decode(Int64.self)
    }

    public func isWaiting(_ id: UUID, session: PostgresSession) throws -> Bool? {
        try session.query("SELECT EXISTS (SELECT 1 FROM prism_outbox WHERE id = \(id))").first?.decode(Bool.self) ?? false
    }
}

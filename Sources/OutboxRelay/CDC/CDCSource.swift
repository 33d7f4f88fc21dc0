import Foundation
import JSON
import Logging
import PostgresNIO
import PostgresStore

/// CDC as the relay's source (`outbox-relay --mode cdc`): committed row changes of the captured
/// tables, read from a wal2json logical replication slot, mapped to events (docs/OUTBOX.md, "CDC").
///
/// A batch is either the next copied snapshot rows, which go first, or whole committed
/// transactions in commit order. Acknowledging records the progress in the application's
/// database in the same transaction as the relay's stream versions: the snapshot rows relayed
/// are deleted, or the slot's relayed LSN is raised. Only then does the slot advance, so a crash
/// between that commit and the advance re-reads transactions the source knows to skip, and a
/// crash before it re-reads them with the same ids and expected versions (stored once).
public final class CDCSource: ChangeSource {
    public struct Configuration: Sendable {
        /// `--slot` (default `prism_cdc`): the replication slot, created with wal2json if missing.
        public var slot: String
        /// `--tables` (e.g. `public.users,public.orders`): the capture set, snapshotted in this
        /// order when added.
        public var tables: [TableName]
        /// `--mapping generic|orders`.
        public var mapping: any ChangeMapping
        /// Test only: kill the process after a batch's progress is committed and before the
        /// slot advances (`PRISM_RELAY_CRASH_BEFORE_SLOT_ADVANCE=1`).
        public var crashBeforeSlotAdvance = false

        public init(slot: String = "prism_cdc", tables: [TableName], mapping: any ChangeMapping) throws(CDCError) {
            if let problem = ReplicationSlot.problem(with: slot) { throw CDCError(problem) }
            guard !tables.isEmpty else { throw CDCError("CDC needs at least one table (--tables public.users,public.orders)") }
            self.slot = slot
            self.tables = tables
            self.mapping = mapping
        }
    }

    public let name = "cdc"
    public var lockName: String { "cdc:\(configuration.slot)" }
    public var notificationChannel: String? { nil }
    public let configuration: Configuration
    private let slot: ReplicationSlot
    private let logger: Logger
    /// Each captured table's snapshot: a streamed transaction it sees is skipped for that table.
    private var snapshots: [TableName: CapturedTable] = [:]
    /// Truncates and logical messages read (not row changes): counted for `stats`.
    public private(set) var skippedMessages = 0
    /// Streamed changes skipped because their table's snapshot already held them.
    public private(set) var changesInSnapshot = 0

    struct CapturedTable {
        var snapshot: SnapshotVisibility
        /// The WAL insert position when the snapshot was taken: every transaction the snapshot
        /// sees committed before it, so the rule applies only to commits before it.
        var horizon: LSN

        func contains(_ transaction: CommittedTransaction) -> Bool {
            transaction.commitLSN < horizon && snapshot.sees(transaction.xid)
        }
    }

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        slot = ReplicationSlot(name: configuration.slot)
        self.logger = logger
    }

    public var schema: [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS prism_cdc_slots (
                slot text PRIMARY KEY,
                relayed_lsn pg_lsn NOT NULL
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS prism_cdc_tables (
                slot text NOT NULL,
                table_name text NOT NULL,
                snapshot text NOT NULL,
                horizon pg_lsn NOT NULL,
                PRIMARY KEY (slot, table_name)
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS prism_cdc_snapshot_rows (
                slot text NOT NULL,
                seq bigserial,
                table_name text NOT NULL,
                key_columns text[] NOT NULL,
                row jsonb NOT NULL,
                PRIMARY KEY (slot, seq)
            )
            """,
        ]
    }

    // MARK: - Setting up

    /// Creates the slot if missing, catches it up with the recorded progress, and brings the
    /// capture set to `--tables`: a removed table's state and unrelayed snapshot rows are
    /// dropped (its changes are no longer decoded); the added tables are snapshotted together.
    public func prepare(_ database: RelayDatabase) throws {
        let session = database.session
        if try !slot.exists(session) {
            // A new slot (the first start, or the old slot dropped after it lost its WAL): what an
            // old one captured is void, and every table is snapshotted again. Forgotten before the
            // slot is created, so that a crash in between changes nothing.
            try session.transaction {
                for table in ["prism_cdc_tables", "prism_cdc_snapshot_rows", "prism_cdc_slots"] {
                    try session.query("DELETE FROM \(unescaped: table) WHERE slot = \(configuration.slot)")
                }
            }
            try slot.create(session)
            logger.info("created replication slot", metadata: ["cdc.slot": "\(configuration.slot)"])
        }
        try session.query("""
            INSERT INTO prism_cdc_slots (slot, relayed_lsn)
            SELECT slot_name, confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = \(configuration.slot)
            ON CONFLICT (slot) DO NOTHING
            """)
        // A crash after the progress commit and before the advance: finish the advance.
        try slot.advance(session, to: try relayedLSN(session))

        let recorded = Set(try session.query("SELECT table_name FROM prism_cdc_tables WHERE slot = \(configuration.slot)")
            .map { try $0.decode(String.self) })
        let wanted = configuration.tables.map(\.description)
        let removed = recorded.subtracting(wanted).sorted()
        if !removed.isEmpty {
            try session.transaction {
                try session.query("DELETE FROM prism_cdc_tables WHERE slot = \(configuration.slot) AND table_name = ANY(\(removed))")
                try session.query("DELETE FROM prism_cdc_snapshot_rows WHERE slot = \(configuration.slot) AND table_name = ANY(\(removed))")
            }
            logger.info("tables left the capture set", metadata: ["cdc.tables": "\(removed.joined(separator: ","))"])
        }
        let added = configuration.tables.filter { !recorded.contains($0.description) }
        if !added.isEmpty {
            let snapshot = try CDCSnapshot.copy(added, slot: configuration.slot, session: session)
            logger.info("snapshotted tables new to the capture set", metadata: [
                "cdc.tables": "\(added.map(\.description).joined(separator: ","))", "cdc.snapshot": "\(snapshot)",
            ])
        }
        snapshots = [:]
        for row in try session.query("SELECT table_name, snapshot, horizon::text FROM prism_cdc_tables WHERE slot = \(configuration.slot)") {
            let (table, snapshot, horizon) = try row.decode((String, String, String).self)
            guard let name = TableName(table), let visibility = SnapshotVisibility(snapshot), let horizon = LSN(horizon) else {
                throw CDCError("prism_cdc_tables holds a bad row for \(table): snapshot '\(snapshot)', horizon '\(horizon)'")
            }
            snapshots[name] = CapturedTable(snapshot: visibility, horizon: horizon)
        }
    }

    private func relayedLSN(_ session: PostgresSession) throws -> LSN {
        let text = try session.query("SELECT relayed_lsn::text FROM prism_cdc_slots WHERE slot = \(configuration.slot)").first?.decode(String.self)
        return text.flatMap(LSN.init) ?? LSN(0)
    }

    // MARK: - Reading

    public func nextBatch(_ database: RelayDatabase, limit: Int) throws -> SourceBatch {
        if let batch = try snapshotBatch(database.session, limit: limit) { return batch }
        return try streamBatch(database, limit: limit)
    }

    /// The next copied snapshot rows, nil when none is left.
    private func snapshotBatch(_ session: PostgresSession, limit: Int) throws -> SourceBatch? {
        let rows = try session.query("""
            SELECT r.seq, r.table_name, r.key_columns, r.row::text, t.snapshot FROM prism_cdc_snapshot_rows r
            JOIN prism_cdc_tables t USING (slot, table_name)
            WHERE r.slot = \(configuration.slot) ORDER BY r.seq LIMIT \(limit)
            """)
        guard !rows.isEmpty else { return nil }
        var batch = SourceBatch(events: [])
        var last: Int64 = 0
        for row in rows {
            let (seq, table, keyColumns, json, snapshot) = try row.decode((Int64, String, [String], String, String).self)
            last = seq
            guard let name = TableName(table), case .object(let values)? = try? JSONParser.parse(json) else {
                throw CDCError("prism_cdc_snapshot_rows row \(seq) of \(table) does not parse")
            }
            let change = RowChange(table: name, operation: .read, row: values, old: nil, keyColumns: keyColumns, origin: .snapshot(id: snapshot))
            map(change, committedAt: nil, into: &batch)
        }
        batch.resumeToken = "snapshot:\(last)"
        return batch
    }

    /// Whole transactions from the slot, at least one, until `limit` events. Transactions that
    /// make no event at all (other tables, changes the snapshot holds, the relay's own commits)
    /// are consumed at once by advancing the slot, and reading goes on: nothing waits on the
    /// write node for them, and a relay catching up does not wait a poll interval per page of them.
    private func streamBatch(_ database: RelayDatabase, limit: Int) throws -> SourceBatch {
        let session = database.session
        let relayed = try relayedLSN(session)
        while true {
            let rows = try peek(session, limit: limit)
            let (transactions, skipped) = try CommittedTransaction.assemble(rows)
            skippedMessages += skipped
            var batch = SourceBatch(events: [])
            var end: LSN?
            for transaction in transactions {
                if batch.events.count + batch.deadLetters.count >= limit { break }
                end = transaction.endLSN
                // Relayed before a crash that came ahead of the slot's advance.
                guard transaction.endLSN > relayed else { continue }
                for change in transaction.changes {
                    guard let captured = snapshots[change.table] else { continue }
                    if captured.contains(transaction) {
                        changesInSnapshot += 1
                        continue
                    }
                    map(change, committedAt: transaction.committedAt, into: &batch)
                }
            }
            guard let end else { return batch }
            if !batch.isEmpty {
                batch.resumeToken = "wal:\(end)"
                return batch
            }
            try slot.advance(session, to: end)
            if rows.count < limit { return batch }
        }
    }

    /// The slot's next rows; a slot that lost its WAL is refused with the way out.
    private func peek(_ session: PostgresSession, limit: Int) throws -> [(lsn: LSN, data: String)] {
        do {
            return try slot.peek(session, tables: configuration.tables, maxRows: limit)
        } catch {
            guard try slot.status(session).walStatus == "lost" else { throw error }
            throw CDCError("""
                replication slot \(configuration.slot) lost the WAL it needed (max_slot_wal_keep_size was exceeded): \
                changes were lost. Start over: SELECT pg_drop_replication_slot('\(configuration.slot)'), \
                and the next start creates the slot and snapshots every table again
                """)
        }
    }

    /// Adds the events `change` maps to, with their deterministic ids, to `batch`; or, when the
    /// mapping cannot make any, a dead letter saying why.
    private func map(_ change: RowChange, committedAt: Date?, into batch: inout SourceBatch) {
        let key = change.key
        func id(_ index: Int) -> UUID {
            ChangeEventID.make(slot: configuration.slot, origin: change.origin, table: change.table, key: key, index: index)
        }
        do {
            for (index, event) in try configuration.mapping.events(for: change).enumerated() {
                batch.events.append(RelayEvent(
                    id: id(index), stream: event.stream, type: event.type, data: event.data, metadata: event.metadata, committedAt: committedAt))
            }
        } catch {
            let event = RelayEvent(
                id: id(0), stream: "cdc-\(change.table)", type: "UnmappedChange", data: .object(change.row ?? change.old ?? [:]),
                metadata: .object(change.sourceMetadata), committedAt: committedAt)
            batch.deadLetters.append(DeadLetter(event: event, reason: "\(error)"))
        }
    }

    // MARK: - Acknowledging

    public func acknowledge(_ relayed: RelayedBatch, in database: RelayDatabase) throws {
        let token = relayed.batch.resumeToken ?? ""
        let progress: PostgresQuery
        var advance: LSN?
        if token.hasPrefix("snapshot:"), let last = Int64(token.dropFirst("snapshot:".count)) {
            progress = "DELETE FROM prism_cdc_snapshot_rows WHERE slot = \(configuration.slot) AND seq <= \(last)"
        } else if token.hasPrefix("wal:"), let end = LSN(token.dropFirst("wal:".count)) {
            progress = "UPDATE prism_cdc_slots SET relayed_lsn = GREATEST(relayed_lsn, \(end.description)::pg_lsn) WHERE slot = \(configuration.slot)"
            advance = end
        } else {
            throw CDCError("CDC cannot acknowledge a batch with resume token '\(token)'")
        }
        try database.session.transaction {
            try database.recordStreamVersions(relayed.streamVersions)
            try database.deadLetter(relayed.deadLetters)
            try database.session.query(progress)
        }
        if let advance {
            if configuration.crashBeforeSlotAdvance {
                logger.critical("PRISM_RELAY_CRASH_BEFORE_SLOT_ADVANCE: killing the relay between the progress commit and the slot's advance")
                kill(getpid(), SIGKILL)
            }
            try slot.advance(database.session, to: advance)
        }
    }

    // MARK: - Reporting

    public func waitingCount(_ database: RelayDatabase) throws -> Int64? {
        try database.session.query("SELECT count(*) FROM prism_cdc_snapshot_rows WHERE slot = \(configuration.slot)").first?.decode(Int64.self)
    }

    /// CDC cannot tell cheaply whether a change waits in the WAL: `positionOf` waits for it.
    public func isWaiting(_ id: UUID, session: PostgresSession) throws -> Bool? { nil }

    /// The slot's WAL retention (`health`, `stats`).
    public func slotStatus(_ database: RelayDatabase) throws -> SlotStatus {
        try slot.status(database.session)
    }

    /// `health.cdc` and `stats.cdc`: the slot's WAL retention, the tables, and the
    /// changes skipped (in the snapshot already; truncates and messages).
    public func details(_ database: RelayDatabase) throws -> JSONValue? {
        guard case .object(var members) = try slotStatus(database).json else { return nil }
        members["tables"] = .array(configuration.tables.map { .string($0.description) })
        members["changesInSnapshot"] = .int(Int64(changesInSnapshot))
        members["skippedMessages"] = .int(Int64(skippedMessages))
        return .object(members)
    }
}

import Foundation
import JSON
import PostgresStore

/// Where the relay's events come from: the transactional outbox (`OutboxSource`) or CDC.
///
/// The relay calls a source from its one relay thread, in this cycle: `nextBatch` (nothing is
/// consumed), the appends to the write node, then `acknowledge` with what the write node stored.
/// A crash anywhere before `acknowledge` commits re-reads the same events with the same ids, and
/// the relay's exact expected versions keep them from being stored twice (docs/OUTBOX.md).
public protocol ChangeSource: AnyObject {
    /// `outbox` or `cdc`: for logs, `health` and `stats`.
    var name: String { get }

    /// Names the advisory lock that lets one relay at a time read this source (the outbox
    /// table's name, the CDC slot's).
    var lockName: String { get }

    /// Statements creating the source's tables and triggers if they are missing, run in one
    /// transaction on each new connection once the relay holds the lock.
    var schema: [String] { get }

    /// The channel the source's changes are notified on (`LISTEN`), nil to poll only.
    var notificationChannel: String? { get }

    /// The relay is about to wait for a notification (true) or has work again (false). A source
    /// whose notifications cost the application something sends them only while the relay waits.
    func noteRelayWaiting(_ waiting: Bool, _ database: RelayDatabase) throws

    /// Whatever else the source sets up on a new connection after `schema` (a replication slot).
    func prepare(_ database: RelayDatabase) throws

    /// The next events in the order the application committed them, at most `limit`; nothing is
    /// consumed. An empty batch when nothing waits.
    func nextBatch(_ database: RelayDatabase, limit: Int) throws -> SourceBatch

    /// Consumes a batch the write node has stored: in one transaction, records the streams'
    /// versions (`RelayDatabase.recordStreamVersions`), parks the dead letters
    /// (`RelayDatabase.deadLetter`) and removes the batch from the source.
    func acknowledge(_ relayed: RelayedBatch, in database: RelayDatabase) throws

    /// How many events wait in the source (for `stats`), nil when it cannot tell cheaply.
    func waitingCount(_ database: RelayDatabase) throws -> Int64?

    /// What `health` and `stats` add about the source under its name (CDC: the slot's WAL
    /// retention), nil for nothing; asked about once a second.
    func details(_ database: RelayDatabase) throws -> JSONValue?

    /// Whether the event `id` waits in the source, nil when the source cannot tell (`positionOf`
    /// then waits for it). Called from the query thread with a session of its own.
    func isWaiting(_ id: UUID, session: PostgresSession) throws -> Bool?
}

extension ChangeSource {
    public func details(_ database: RelayDatabase) throws -> JSONValue? { nil }
    public func noteRelayWaiting(_ waiting: Bool, _ database: RelayDatabase) throws {}
}

/// Events read from a source and not yet consumed.
public struct SourceBatch: Sendable {
    public var events: [RelayEvent]
    /// Changes the source read but cannot make an event of (the relay parks them with the batch).
    public var deadLetters: [DeadLetter] = []
    /// What the source needs to consume exactly this batch later (CDC: the LSN the batch ends
    /// at); the outbox needs nothing beyond the ids.
    public var resumeToken: String?

    public init(events: [RelayEvent], resumeToken: String? = nil) {
        self.events = events
        self.resumeToken = resumeToken
    }

    public var isEmpty: Bool { events.isEmpty && deadLetters.isEmpty }
}

/// A batch as the write node took it: what `ChangeSource.acknowledge` records.
public struct RelayedBatch: Sendable {
    public var batch: SourceBatch
    /// The log position of each stored event (including those found stored already).
    public var positions: [UUID: Int64]
    /// Each stream's last version after the batch, for `prism_relay_streams`.
    public var streamVersions: [String: Int64]
    /// Events parked instead of appended.
    public var deadLetters: [DeadLetter]

    public init(batch: SourceBatch, positions: [UUID: Int64], streamVersions: [String: Int64], deadLetters: [DeadLetter]) {
        self.batch = batch
        self.positions = positions
        self.streamVersions = streamVersions
        self.deadLetters = deadLetters
    }
}

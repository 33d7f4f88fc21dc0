import Foundation
import JSON
import Logging
import PostgresNIO
import PostgresStore
import ProjectionRuntime

/// The application's PostgreSQL database as the relay uses it: one session, the relay lock, and
/// the two tables every source shares, `prism_relay_streams` and `prism_outbox_dead_letter`.
///
/// **One relay per source.** The relay holds a session-level advisory lock named after its
/// source (`ChangeSource.lockName`) while its connection lives. A second relay on the same source
/// does not get it: it reports `standby` and tries again every poll interval, so it takes over
/// within one interval of the first one's connection ending (a crash ends it at once). The lock
/// is for order and efficiency, not for safety: two relays that both appended would still store
/// each event once, because every append carries an exact expected version.
public final class RelayDatabase: @unchecked Sendable {
    public let session: PostgresSession
    private let source: any ChangeSource
    private let logger: Logger
    /// Signalled on each notification of the source's channel (LISTEN/NOTIFY).
    let changes = ChangeSignal()
    /// Whether this session holds the relay lock; set on the relay thread only.
    public private(set) var holdsLock = false

    /// The relay's own tables, one statement each.
    public static let schema = [
        """
        CREATE TABLE IF NOT EXISTS prism_relay_streams (
            stream text PRIMARY KEY,
            version bigint NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS prism_outbox_dead_letter (
            id uuid PRIMARY KEY,
            stream text NOT NULL,
            type text NOT NULL,
            data jsonb,
            metadata jsonb,
            created_at timestamptz,
            reason text NOT NULL,
            source text NOT NULL,
            dead_lettered_at timestamptz NOT NULL DEFAULT now()
        )
        """,
    ]

    public init(url: PostgresURL, source: any ChangeSource, logger: Logger) {
        // The relay's own commits (versions, deletes) must survive a server crash as the
        // application's do: a lost delete is only re-sent, but a lost version would be re-derived.
        session = PostgresSession(
            url: url, startupParameters: [("application_name", "prism-outbox-relay")], synchronousCommit: true, logger: logger)
        self.source = source
        self.logger = logger
        session.onConnect = { [unowned self] session in
            holdsLock = false
            try takeLock(session)
        }
    }

    /// Takes the relay lock if it is free (and then prepares the schema and starts listening).
    ///
    /// - Returns: whether this relay holds the lock now.
    /// - Throws: what the session throws (`ReadModelStoreError` when the server cannot be reached).
    @discardableResult
    public func acquireLock() throws -> Bool {
        if holdsLock, session.isConnected { return true }
        // A new connection runs `onConnect`, which tries the lock; an open one is asked again.
        let wasConnected = session.isConnected
        try session.query("SELECT 1")
        if wasConnected, !holdsLock { try takeLock(session) }
        return holdsLock
    }

    private func takeLock(_ session: PostgresSession) throws {
        let rows = try session.query("SELECT pg_try_advisory_lock(hashtextextended(\("prism_relay:" + source.lockName), 0))")
        guard try rows.first?.decode(Bool.self) == true else { return }
        try session.transaction(Self.schema + source.schema)
        try source.prepare(self)
        if let channel = source.notificationChannel {
            let changes = changes
            try session.listen(channel) { changes.signal() }
        }
        holdsLock = true
        logger.info("holding the relay lock", metadata: ["relay.source": "\(source.name)", "relay.lock": "\(source.lockName)"])
    }

    /// The versions `prism_relay_streams` records for `streams`; a stream it does not name has none.
    public func streamVersions(_ streams: Set<String>) throws -> [String: Int64] {
        guard !streams.isEmpty else { return [:] }
        let rows = try session.query("SELECT stream, version FROM prism_relay_streams WHERE stream = ANY(\(Array(streams)))")
        var versions: [String: Int64] = [:]
        for row in rows {
            let (stream, version) = try row.decode((String, Int64).self)
            versions[stream] = version
        }
        return versions
    }

    /// Records the streams' versions after a batch, inside the source's acknowledging transaction.
    /// A version never goes down (a stale relay cannot undo a newer one's record).
    public func recordStreamVersions(_ versions: [String: Int64]) throws {
        guard !versions.isEmpty else { return }
        let streams = Array(versions.keys)
        let numbers = streams.map { versions[$0]! }
        try session.query("""
            INSERT INTO prism_relay_streams (stream, version) SELECT * FROM unnest(\(streams)::text[], \(numbers)::bigint[])
            ON CONFLICT (stream) DO UPDATE SET version = GREATEST(prism_relay_streams.version, EXCLUDED.version)
            """)
    }

    /// Parks events in `prism_outbox_dead_letter` with the reason, inside the acknowledging
    /// transaction (a source whose rows can move there as they are, like the outbox, does that instead).
    public func deadLetter(_ letters: [DeadLetter]) throws {
        for letter in letters {
            let event = letter.event
            try session.query("""
                INSERT INTO prism_outbox_dead_letter (id, stream, type, data, metadata, created_at, reason, source)
                VALUES (\(event.id), \(event.stream), \(event.type), \(event.data.jsonString)::jsonb,
                        \(event.metadata?.jsonString)::jsonb, \(event.committedAt), \(letter.reason), \(source.name))
                ON CONFLICT (id) DO NOTHING
                """)
        }
        logDeadLetters(letters)
    }

    /// Reports parked events in the log, one error line each.
    public func logDeadLetters(_ letters: [DeadLetter]) {
        for letter in letters {
            logger.error("event parked in prism_outbox_dead_letter", metadata: [
                "event.id": "\(letter.event.id)", "event.stream": "\(letter.event.stream.prefix(200))",
                "event.type": "\(letter.event.type.prefix(200))", "reason": "\(letter.reason)",
            ])
        }
    }

    /// The reason an event was parked, nil when it was not (on any session of the database).
    public static func deadLetterReason(of id: UUID, in session: PostgresSession) throws -> String? {
        try session.query("SELECT reason FROM prism_outbox_dead_letter WHERE id = \(id)").first?.decode(String.self)
    }

    /// Waits until the source's channel is notified or `milliseconds` pass.
    public func waitForChanges(milliseconds: Int) {
        changes.wait(milliseconds: milliseconds)
    }

    /// Closes the session (the lock goes with it).
    public func close() {
        session.close()
        holdsLock = false
    }
}

/// A flag set by notifications (on PostgresNIO's thread) and waited for by the relay thread.
final class ChangeSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var signalled = false

    func signal() {
        condition.lock()
        signalled = true
        condition.signal()
        condition.unlock()
    }

    /// Returns at once if signalled since the last wait, else when signalled or after `milliseconds`.
    func wait(milliseconds: Int) {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: Double(milliseconds) / 1000)
        while !signalled, condition.wait(until: deadline) {}
        signalled = false
    }
}

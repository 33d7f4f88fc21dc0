import PostgresStore
import Security
import WireProtocol
import ZeroMQ

/// Everything an `OutboxRelay` needs; the `outbox-relay` flags fill it (defaults as documented there).
public struct RelayConfiguration: Sendable {
    /// The application's database (the outbox and the relay's own tables).
    public var postgresURL: PostgresURL
    /// The write node's command endpoint (appends).
    public var commandEndpoint = DefaultEndpoints.command
    /// The write node's catch-up endpoint (stream reads, when a stream's version must be learned).
    public var catchUpEndpoint = DefaultEndpoints.catchUp
    /// The relay's ROUTER answering `health`, `stats` and `positionOf`.
    public var queryEndpoint = DefaultEndpoints.outboxRelay
    /// Most events read and appended per batch.
    public var batchSize = 500
    /// Milliseconds between looks at the source when no notification comes (LISTEN/NOTIFY wakes
    /// the relay sooner), and between a standby relay's tries of the lock.
    public var pollIntervalMs = 1000
    /// Milliseconds to wait for the write node's replies.
    public var writeNodeTimeoutMs = 5000
    /// Largest data + metadata of one event, in bytes: as the write node's `--max-event-bytes`.
    public var maxEventBytes = 64 << 10
    /// How many recently relayed ids `positionOf` answers from memory.
    public var recentPositions = 100_000
    /// Largest query, in bytes, and the longest `timeoutMs` a query may wait.
    public var maxRequestBytes = 64 << 10
    public var maxQueryWaitMs = 60_000
    /// Messages queued per connection on the query endpoint, each way.
    public var queuePerConnection: Int32 = 100
    /// Most `positionOf` queries waiting at once (past it: `Unavailable`).
    public var maxWaitingQueries = 10_000
    /// With `--keys`: CURVE on the query endpoint and the relay's own key for the write node.
    public var security: ServerSecurity?
    /// The keys reaching the write node (the relay's key needs the `writer` role there).
    public var writeNodeKeys: CurveClientKeys?
    /// Test only: abort the process after the write node acknowledged a batch and before the
    /// source is (`PRISM_RELAY_CRASH_AFTER_ACK=1`), to test that crash deterministically.
    public var crashAfterAcknowledgement = false

    public init(postgresURL: PostgresURL) {
        self.postgresURL = postgresURL
    }
}

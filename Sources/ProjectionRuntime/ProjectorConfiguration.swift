import Security
import WireProtocol
import ZeroMQ
/// Everything a projector needs to start; the projector executables' flags map onto these fields.
public struct ProjectorConfiguration: Sendable {
    /// The read model's name in logs, `stats` and `health` (`orders`, `search` …).
    public var name: String
    /// ROUTER endpoint answering queries (REQ and DEALER clients).
    public var queryEndpoint: String
    /// The projector's directory: the read model's copies (`generation-<n>/`, `CURRENT` naming the
    /// live one) and `skipped.jsonl` (the events an operator skipped).
    public var dataDirectory: String
    /// The write node's PUB endpoint. Default `DefaultEndpoints.publish`.
    public var publishEndpoint = DefaultEndpoints.publish
    /// The write node's catch-up endpoint. Default `DefaultEndpoints.catchUp`.
    public var catchUpEndpoint = DefaultEndpoints.catchUp
    /// Most events applied in one read-model transaction, and asked of one catch-up request (so at
    /// most the write node's `--max-catch-up-events`). Default 10000: large transactions make a
    /// catch-up cheaper; live batches hold only what arrived and stay small.
    public var maxEventsPerTransaction = CatchUp.defaultMaxEvents
    /// Longest `timeoutMs` a query may ask to wait for `minPosition`, in milliseconds. Default 60000.
    public var maxQueryWaitMs = 60_000
    /// Largest query request, in bytes; larger ones get `TooLarge`. Default 64 KiB.
    public var maxRequestBytes = 64 << 10
    /// Most queries waiting for `minPosition` at once; more get `Unavailable`. Default 10000.
    public var maxWaitingQueries = 10_000
    /// Messages queued per connection on the query endpoint, each way (ZMQ_SNDHWM, ZMQ_RCVHWM): past it
    /// a client that does not read its replies loses them, and one that sends faster than it is
    /// answered waits in TCP, so a hostile client cannot grow the projector's memory. Default 100.
    public var queuePerConnection: Int32 = 100
    /// Most queries answered before the projector applies the events that arrived meanwhile, so a
    /// client flooding queries cannot hold back the read model (and every `minPosition` read). Default 16.
    public var maxQueriesPerPass = 16
    /// No event or heartbeat for this long means a dead link: resubscribe and catch up. Milliseconds, default 3500.
    public var silenceTimeoutMs = 3500
    /// Build a fresh copy of the read model from position 0 beside the live one, and switch to it
    /// once it has caught up (a live rebuild; the live copy answers meanwhile).
    public var rebuild = false
    /// How long closing the query socket may wait to flush replies on shutdown, in milliseconds. Default 1000.
    public var shutdownLingerMs: Int32 = 1000

    /// Longest wait between two tries of a batch the read model's store failed, in milliseconds
    /// (the first retry comes after 10 ms, each next one after twice as long). Default 5000.
    public var maxStoreRetryDelayMs = 5000

    /// CURVE on the query endpoint with roles checked per request (`--keys`); nil serves plain
    /// text to anyone, with admin requests taken from loopback only.
    public var security: ServerSecurity?
    /// The keys to reach a CURVE write node with (the feed's SUB and catch-up); nil for plain text.
    public var writeNodeKeys: CurveClientKeys?

    public init(name: String, queryEndpoint: String, dataDirectory: String) {
        self.name = name
        self.queryEndpoint = queryEndpoint
        self.dataDirectory = dataDirectory
    }
}

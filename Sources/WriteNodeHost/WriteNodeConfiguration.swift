import EventStore
import Security
import WireProtocol

/// Everything a write node needs to start; the `write-node` flags map onto these fields one to one.
public struct WriteNodeConfiguration: Sendable {
    /// Where the event store lives (created if missing). One write node per directory.
    public var dataDirectory: String
    /// ROUTER endpoint for commands and appends (REQ and DEALER clients). Default `DefaultEndpoints.command` (port 5550).
    public var commandEndpoint = DefaultEndpoints.command
    /// PUB endpoint for events and heartbeats. Default `DefaultEndpoints.publish` (port 5551).
    public var publishEndpoint = DefaultEndpoints.publish
    /// ROUTER endpoint serving "events after position N". Default `DefaultEndpoints.catchUp` (port 5552).
    public var catchUpEndpoint = DefaultEndpoints.catchUp
    /// Most requests decided and committed in one transaction (one fsync). Default 1024.
    public var maxBatchRequests = 1024
    /// Most requests of one connection in a batch: once a connection has this many, the batch takes
    /// no more, so a client flooding the node delays another's request by at most this many of its
    /// own. Default 32 (a pipelining client with up to 32 in flight is not held back).
    public var maxBatchRequestsPerConnection = 32
    /// Heartbeat period on PUB, in milliseconds. Default 1000.
    public var heartbeatIntervalMs = 1000
    /// Largest request body answered; larger ones get `TooLarge`. Default 1 MiB.
    public var maxRequestBytes = 1 << 20
    /// Hard limit: a peer sending a bigger message is disconnected by libzmq (`ZMQ_MAXMSGSIZE`). Default 16 MiB.
    public var maxMessageBytes = 16 << 20
    /// Largest event (data plus metadata) accepted, in bytes. Default 64 KiB.
    public var maxEventBytes = 64 << 10
    /// Most events in one append request. Default 1000.
    public var maxEventsPerAppend = 1000
    /// Most events in one catch-up reply. Default 10000.
    public var maxCatchUpEvents = CatchUp.defaultMaxEvents
    /// Events queued per subscriber on PUB (ZMQ_SNDHWM); past it a subscriber that does not keep up
    /// loses events (and backfills through catch-up), and one that never reads costs at most this many.
    /// Default 20000 (with 1 KiB events, about 25 MB).
    public var publishHighWaterMark: Int32 = 20_000
    /// Messages queued per connection on the command endpoint, each way (ZMQ_SNDHWM, ZMQ_RCVHWM): past
    /// it a client that does not read its replies loses them, and one that sends faster than it is
    /// served waits in TCP; either way the node's memory stays bounded. Default 1000.
    public var queuePerConnection: Int32 = 1000
    /// Catch-up replies queued per connection (each up to 8 MiB of records); past it a reader that does
    /// not read loses its replies. A feed has one request out at a time. Default 2.
    public var catchUpQueuePerConnection: Int32 = 2
    /// How long closing sockets may wait to flush replies on shutdown, in milliseconds. Default 1000.
    public var shutdownLingerMs: Int32 = 1000

    /// CURVE on every endpoint, with roles checked per request (`--keys`); nil serves plain text to anyone.
    public var security: ServerSecurity?

    /// The log's tunables: segment size, the idempotency window, memory bounds.
    public var store = EventStore.Options()

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }
}

import EventModel

/// The events one `EventFeed.poll` delivers, in global order, with when each became durable and
/// when the feed received it.
public struct FeedBatch: Sendable {
    public private(set) var events: [RecordedEvent] = []
    /// Aligned with `events`: when the write node's sync covering the event returned (the
    /// `syncedAt` of its published body), ns since the epoch; 0 for an event that came by catch-up,
    /// whose reply carries no sync time.
    public private(set) var syncedAt: [Int64] = []
    /// Aligned with `events`: when the feed read the event's message (the PUB message, or the
    /// catch-up reply that carried it), ns since the epoch.
    public private(set) var receivedAt: [Int64] = []
    /// When the feed began waiting for the PUB messages of these events, ns since the epoch (0
    /// for catch-up): what was synced before it waited while the projector did something else.
    public internal(set) var listeningSince: Int64 = 0

    public init() {}

    public init(events: [RecordedEvent], syncedAt: [Int64], receivedAt: [Int64], listeningSince: Int64 = 0) {
        precondition(events.count == syncedAt.count && events.count == receivedAt.count, "one sync and one receive time per event")
        self.events = events
        self.syncedAt = syncedAt
        self.receivedAt = receivedAt
        self.listeningSince = listeningSince
    }

    public var isEmpty: Bool { events.isEmpty }
    public var count: Int { events.count }

    /// Drops the first `count` events, once applied.
    public mutating func removeFirst(_ count: Int) {
        events.removeFirst(count)
        syncedAt.removeFirst(count)
        receivedAt.removeFirst(count)
    }

    mutating func append(_ event: RecordedEvent, syncedAt: Int64, receivedAt: Int64) {
        events.append(event)
        self.syncedAt.append(syncedAt)
        self.receivedAt.append(receivedAt)
    }

    mutating func reserveCapacity(_ count: Int) {
        events.reserveCapacity(count)
        syncedAt.reserveCapacity(count)
        receivedAt.reserveCapacity(count)
    }
}

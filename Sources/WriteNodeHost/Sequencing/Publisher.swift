import EventStore
import WireProtocol
import ZeroMQ

/// Publishes durable events in position order, each with the previous position of its category
/// (so filtered subscribers can detect gaps), and heartbeats with the head and category heads.
struct Publisher {
    let socket: Socket
    /// The last position published in each category.
    private var categoryHeads: [String: Int64]
    /// The last position published.
    private var published: Int64

    init(socket: Socket, store: EventStore) throws {
        self.socket = socket
        categoryHeads = try store.lastPositionByCategory()
        published = store.headPosition
    }

    /// Before a durable group that follows `headBefore` is confirmed: if groups were made durable
    /// without being published (a log reopened after a failed write found them on disk), the
    /// category heads are taken from the store again, so `previousInCategory` stays true.
    mutating func prepare(after headBefore: Int64, store: EventStore) {
        if headBefore != published {
            // Throws only once the store is closed, when nothing is published any more.
            categoryHeads = (try? store.lastPositionByCategory()) ?? categoryHeads
            published = headBefore
        }
    }

    /// Publishes a confirmed group, in position order.
    ///
    /// - Parameter syncedAt: when the sync that made the group durable returned, ns since the epoch.
    mutating func publish(_ events: [RecordedEvent], syncedAt: Int64) throws {
        // PUB never blocks: past the high-water mark it drops, and subscribers backfill.
        for event in events {
            let category = event.category
            let previous = categoryHeads[category] ?? 0
            categoryHeads[category] = event.position
            try socket.send(EventFrames.frames(for: event, category: category, previousInCategory: previous, syncedAt: syncedAt), dontWait: true)
        }
        if let last = events.last { published = last.position }
    }

    func heartbeat(store: EventStore) throws {
        let heartbeat = EventFrames.Heartbeat(
            head: store.headPosition, sentAt: wallClockNanoseconds(), categoryHeads: try store.lastPositionByCategory())
        try socket.send(heartbeat.frames, dontWait: true)
    }
}

/// The durable groups the indexer has not reached yet, in order, with each stream's events
/// among them, so a stream read (the write node folding a stream it has not cached) finds them
/// without scanning every group: a scan cost a new order up to a millisecond once 200 ms of
/// appends were waiting at tens of thousands of events a second.
struct UnindexedTail {
    private(set) var groups: [LogGroup] = []
    /// Events in `groups`.
    private(set) var count = 0
    private var byStream: [String: [RecordedEvent]] = [:]

    mutating func append(_ group: LogGroup) {
        groups.append(group)
        count += group.events.count
        for event in group.events { byStream[event.stream, default: []].append(event) }
    }

    /// Drops the first `groupCount` groups (the indexer has written them).
    mutating func removeFirst(_ groupCount: Int) {
        var removed: [String: Int] = [:]
        for group in groups.prefix(groupCount) {
            count -= group.events.count
            for event in group.events { removed[event.stream, default: 0] += 1 }
        }
        // A stream's events are in position order, so the indexed ones are at the front: one
        // `removeFirst` per stream, not per event (a hot stream made that quadratic).
        for (stream, indexed) in removed {
            guard var events = byStream.removeValue(forKey: stream) else { continue }
            events.removeFirst(min(indexed, events.count))
            if !events.isEmpty { byStream[stream] = events }
        }
        groups.removeFirst(groupCount)
    }

    /// The stream's events here, in order.
    func events(of stream: String) -> [RecordedEvent] { byStream[stream] ?? [] }
}

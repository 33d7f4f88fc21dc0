/// The last version and position of streams, in memory, for expected-version checks without a
/// lookup on the commit path.
///
/// Bounded: past `capacity` streams, entries the index already holds are dropped and refill from
/// it on a miss. Entries newer than the index are never dropped (the index cannot answer for
/// them). The appends of the batch in flight are provisional until its sync returns.
struct StreamHeads {
    struct Head: Equatable {
        var version: Int64
        var position: Int64
    }

    let capacity: Int
    private var durable: [String: Head] = [:]
    /// The staged batch's heads are written straight into `durable`, with what they replaced,
    /// so `dropProvisional` can undo them.
    private var undo: [(stream: String, replaced: Head?)] = []

    init(capacity: Int) { self.capacity = capacity }

    /// The stream's head as the next append sees it, or nil when it must be looked up.
    func cached(_ stream: String) -> Head?? {
        if let head = durable[stream] { return head }
        return nil
    }

    /// Remembers a head read from the index (nil: the stream has no events).
    mutating func remember(_ stream: String, _ head: Head?) {
        durable[stream] = head ?? Head(version: -1, position: 0)
    }

    mutating func stage(_ stream: String, _ head: Head) {
        undo.append((stream, durable.updateValue(head, forKey: stream)))
    }

    /// The batch in flight is durable.
    mutating func confirm(indexed: Int64) {
        undo.removeAll(keepingCapacity: true)
        if durable.count > capacity {
            durable = durable.filter { $0.value.position > indexed }
        }
    }

    /// The batch in flight failed.
    mutating func dropProvisional() {
        for (stream, replaced) in undo.reversed() { durable[stream] = replaced }
        undo.removeAll(keepingCapacity: true)
    }

    var count: Int { durable.count }
}

import Foundation

/// The idempotency window: event ids of recent appends, in memory, so a retried append is
/// recognized without an on-disk id index.
///
/// Holds at most `maxEvents` ids, and none older than `maxAgeNanoseconds` (0: no age limit),
/// refilled from the log's tail on open so a restart does not shrink it. Outside the window an
/// id is not recognized (`docs/PROTOCOL.md`, "Idempotency").
struct RecentIds {
    struct Entry: Equatable {
        var position: Int64
        var stream: String
        var version: Int64
    }

    let maxEvents: Int
    let maxAgeNanoseconds: Int64
    private var durable: [UUID: Entry] = [:]
    /// Ids in the order they were appended, with their time; `first` is the oldest still held.
    private var order: [(id: UUID, recordedAt: Int64)] = []
    private var first = 0
    /// The staged batch's ids are written straight into `durable` (one hash per id, not two),
    /// with what they replaced, so `dropProvisional` can undo them.
    private var undo: [(id: UUID, replaced: Entry?)] = []

    init(maxEvents: Int, maxAgeSeconds: Int) {
        self.maxEvents = maxEvents
        maxAgeNanoseconds = Int64(maxAgeSeconds) * 1_000_000_000
    }

    func lookup(_ id: UUID) -> Entry? { durable[id] }

    mutating func stage(_ id: UUID, _ entry: Entry, recordedAt: Int64) {
        undo.append((id, durable.updateValue(entry, forKey: id)))
        order.append((id, recordedAt))
    }

    /// Adds an id that is already durable (the log's tail, read on open).
    mutating func add(_ id: UUID, _ entry: Entry, recordedAt: Int64) {
        durable[id] = entry
        order.append((id, recordedAt))
    }

    mutating func confirm(now: Int64) {
        undo.removeAll(keepingCapacity: true)
        evict(now: now)
    }

    mutating func dropProvisional() {
        for (id, replaced) in undo.reversed() { durable[id] = replaced }
        order.removeLast(undo.count)
        undo.removeAll(keepingCapacity: true)
    }

    mutating func evict(now: Int64) {
        precondition(undo.isEmpty, "evict with a batch staged")
        while first < order.count,
              order.count - first > maxEvents || (maxAgeNanoseconds > 0 && now - order[first].recordedAt > maxAgeNanoseconds) {
            durable[order[first].id] = nil
            first += 1
        }
        if first > 65_536, first > order.count / 2 {
            order.removeFirst(first)
            first = 0
        }
    }

    var count: Int { order.count - first }
}

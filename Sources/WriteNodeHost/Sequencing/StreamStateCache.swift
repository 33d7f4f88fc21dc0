import EventStore

/// The decide-time state of every stream the write node has touched: version and folded domain state.
///
/// The write node is the only writer, so once a stream is loaded the cache stays exact: decisions
/// fold their typed events in as they are made (`applyProvisionally`, no parsing back), so later
/// commands in the same batch see them, and a stream whose append failed or that a generic append
/// changed is forgotten (`forget`) and folded again from the store when next needed.
struct StreamStateCache<D: Domain> {
    private var entries: [String: StreamState<D.State>] = [:]
    let domain: D

    init(domain: D) { self.domain = domain }

    /// The state of `stream`, folded from the store on first use.
    mutating func state(of stream: String, store: EventStore) throws -> StreamState<D.State> {
        if let cached = entries[stream] { return cached }
        var loaded = StreamState<D.State>(version: nil, state: nil)
        var from: Int64 = 0
        while true {
            let events = try store.readStream(stream, fromVersion: from, limit: 1000, includingStaged: true)
            for event in events {
                loaded.state = domain.evolve(loaded.state, recorded: event)
                loaded.version = event.version
            }
            if events.count < 1000 { break }
            from = (loaded.version ?? -1) + 1
        }
        entries[stream] = loaded
        return loaded
    }

    /// Folds the typed events of `decision` before they are stored, so the rest of the batch sees them.
    mutating func applyProvisionally(_ decision: Decision<D.Event>) {
        guard var entry = entries[decision.stream] else { return }
        for event in decision.events {
            entry.state = domain.evolve(entry.state, event)
            entry.version = (entry.version ?? -1) + 1
        }
        entries[decision.stream] = entry
    }

    /// Drops a stream whose cached state may be wrong; it is reloaded from the store when next needed.
    mutating func forget(_ stream: String) { entries[stream] = nil }

    mutating func forgetAll() { entries.removeAll(keepingCapacity: true) }

    /// Most streams kept; past it the cache starts over (every entry reloads from the store on
    /// use), so memory stays bounded however many orders the log holds.
    static var capacity: Int { 500_000 }

    /// Empties the cache when it is over capacity. Call between batches only: within a batch the
    /// entries carry provisional state that the store does not have yet.
    mutating func trimBetweenBatches() {
        if entries.count > Self.capacity { entries.removeAll() }
    }

    var count: Int { entries.count }
}

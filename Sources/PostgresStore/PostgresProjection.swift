import EventStore
import JSON
import ProjectionRuntime

/// A projection whose whole state is one `PostgresReadModel` (what `SQLiteProjection` is to
/// `SQLiteReadModel`): the checkpoint, the batch statement, reset, discard, close and statistics
/// come from the model; the projection says what its `prism_apply_events` reads of each event.
public protocol PostgresProjection: Projection {
    var model: PostgresReadModel { get }

    /// Writes what the model's `prism_apply_events` reads of `event` into `batch`, or nothing
    /// when the model ignores the event.
    static func write(_ event: RecordedEvent, into batch: inout PostgresEventBatch)
}

extension PostgresProjection {
    public func checkpoint() throws -> Int64 { try model.checkpoint() }

    public func apply(_ events: [RecordedEvent], through position: Int64) throws {
        var batch = PostgresEventBatch(capacity: events.count * 160)
        for event in events { Self.write(event, into: &batch) }
        try model.apply(batch, through: position)
    }

    public func reachedHead() throws { try model.createDeferredIndexes() }

    public func reset() throws { try model.reset() }

    public func close() throws { model.close() }

    public func discard() throws { try model.discard() }

    public var statistics: JSONValue? { model.statistics }
}

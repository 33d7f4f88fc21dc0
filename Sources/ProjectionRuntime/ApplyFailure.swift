import EventStore
import WireProtocol

/// The event a projection threw on: the projector stops there until an operator restarts a fixed
/// build or skips it.
public struct ApplyFailure: Sendable, Equatable {
    public var position: Int64
    public var stream: String
    public var type: String
    public var error: String

    public init(event: RecordedEvent, error: any Error) {
        position = event.position
        stream = event.stream
        type = event.type
        self.error = "\(error)"
    }

    var json: JSONValue {
        ["position": .int(position), "stream": .string(stream), "type": .string(type), "error": .string(error)]
    }
}

/// What became of one batch.
enum ApplyOutcome {
    /// All of it is applied and the checkpoint moved to the batch's end.
    case applied
    /// The store failed; the events up to `appliedThrough` went in, the rest wait for a retry.
    case storeFailed(ReadModelStoreError, appliedThrough: Int64)
    /// The projection threw on one event; those before it went in, nothing after it did.
    case stopped(ApplyFailure, appliedThrough: Int64)
}

extension Projection {
    /// Applies a batch in one transaction; when the projection throws, applies it again event by
    /// event so that everything before the culprit commits and the culprit is named.
    ///
    /// The live projector and the rebuild's builder both apply through this, so a rebuilt copy
    /// meets the same events the same way.
    ///
    /// - Parameters:
    ///   - events: in global order, above the checkpoint; skipped positions already left out.
    ///   - position: the batch's end (the new checkpoint).
    ///   - checkpoint: the checkpoint before the batch.
    func applyBatch(_ events: [RecordedEvent], through position: Int64, after checkpoint: Int64) -> ApplyOutcome {
        do {
            try apply(events, through: position)
            return .applied
        } catch {
            if let storeError = ReadModelStoreError.from(error) {
                return .storeFailed(storeError, appliedThrough: checkpoint)
            }
        }
        var appliedThrough = checkpoint
        for event in events {
            do {
                try apply([event], through: event.position)
                appliedThrough = event.position
            } catch {
                if let storeError = ReadModelStoreError.from(error) {
                    return .storeFailed(storeError, appliedThrough: appliedThrough)
                }
                return .stopped(ApplyFailure(event: event, error: error), appliedThrough: appliedThrough)
            }
        }
        // Every event went in alone (the batch's error did not repeat): move the checkpoint to its end.
        do {
            try apply([], through: position)
            return .applied
        } catch {
            return .storeFailed(ReadModelStoreError.from(error) ?? ReadModelStoreError("\(error)"), appliedThrough: appliedThrough)
        }
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials  // UUID only: the small core of Foundation, without ICU
#else
import Foundation
#endif

/// An event as stored: with its global position, its version in its stream and its commit time.
public struct RecordedEvent: Sendable, Equatable {
    public var id: UUID
    /// Place in the global log: 1, 2, 3, … with no holes.
    public var position: Int64
    public var stream: String
    /// Place in its stream: 0 for the first event.
    public var version: Int64
    public var type: String
    /// UTF-8 JSON payload.
    public var data: [UInt8]
    /// UTF-8 JSON metadata, if any.
    public var metadata: [UInt8]?
    /// Nanoseconds since the Unix epoch at which the write node committed the event's batch.
    public var recordedAt: Int64

    public init(
        id: UUID, position: Int64, stream: String, version: Int64, type: String,
        data: [UInt8], metadata: [UInt8]?, recordedAt: Int64
    ) {
        self.id = id
        self.position = position
        self.stream = stream
        self.version = version
        self.type = type
        self.data = data
        self.metadata = metadata
        self.recordedAt = recordedAt
    }

    /// The stream's category: the part of its name before the first `-` (`order-o-1` → `order`).
    public var category: String { StreamName.category(of: stream) }
}

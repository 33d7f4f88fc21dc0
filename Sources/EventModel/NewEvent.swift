#if canImport(FoundationEssentials)
import FoundationEssentials  // UUID only: the small core of Foundation, without ICU
#else
import Foundation
#endif

/// An event before it is stored: what a client or a decider asks to append.
public struct NewEvent: Sendable, Equatable {
    /// Unique id; a retried append carrying the same ids is idempotent.
    public var id: UUID
    public var type: String
    /// The event's payload, UTF-8 JSON.
    public var data: [UInt8]
    /// Optional UTF-8 JSON metadata (correlation ids and the like).
    public var metadata: [UInt8]?

    public init(id: UUID = .timeOrdered(), type: String, data: [UInt8], metadata: [UInt8]? = nil) {
        self.id = id
        self.type = type
        self.data = data
        self.metadata = metadata
    }
}

import EventModel
import Foundation
import JSON

/// One change of the application's database on its way to the write node: an outbox row, or an
/// event a CDC mapping made of a row change.
///
/// `id` is the event's id in the log, and it must be the same each time the change is read
/// again (a crash before the source is acknowledged re-reads it): the outbox row's `id`; for
/// CDC one derived from the change's LSN and its index in the transaction.
public struct RelayEvent: Sendable, Equatable {
    public var id: UUID
    public var stream: String
    public var type: String
    public var data: JSONValue
    public var metadata: JSONValue?
    /// When the application wrote it (the outbox row's `created_at`, a CDC commit's time): where
    /// the relay lag (`stats.lagUs`) starts. Nil when the source cannot tell.
    public var committedAt: Date?

    public init(id: UUID, stream: String, type: String, data: JSONValue, metadata: JSONValue? = nil, committedAt: Date? = nil) {
        self.id = id
        self.stream = stream
        self.type = type
        self.data = data
        self.metadata = metadata
        self.committedAt = committedAt
    }
}

/// An event the relay parks instead of appending, and why: the write node refused it for itself
/// (`InvalidArgument`, `TooLarge`) or its stream name is not one.
public struct DeadLetter: Sendable, Equatable {
    public var event: RelayEvent
    public var reason: String

    public init(event: RelayEvent, reason: String) {
        self.event = event
        self.reason = reason
    }
}

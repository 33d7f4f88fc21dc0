/// Events to append atomically to one stream.
public struct AppendRequest: Sendable, Equatable {
    public var stream: String
    public var expectedVersion: ExpectedVersion
    public var events: [NewEvent]
    /// Whether to look the event ids up so that a retry returns the original result.
    /// Deciders that mint fresh ids may skip the lookup.
    public var checkIdempotency: Bool

    public init(stream: String, expectedVersion: ExpectedVersion, events: [NewEvent], checkIdempotency: Bool = true) {
        self.stream = stream
        self.expectedVersion = expectedVersion
        self.events = events
        self.checkIdempotency = checkIdempotency
    }
}

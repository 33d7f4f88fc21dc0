/// One append a command decided: the typed events, and the same events encoded for the store.
///
/// The write node folds `events` into the stream's state for the rest of the batch and appends
/// `append`; each event is encoded once, when the decision is made, and never parsed back.
public struct Decision<Event: Sendable>: Sendable {
    /// The stream, the expected version the decision was made on, and the encoded events.
    public private(set) var append: AppendRequest
    /// The decided events, in the order of `append.events`.
    public private(set) var events: [Event]

    /// Encodes each event once.
    ///
    /// - Parameters:
    ///   - stream: the stream to append to.
    ///   - expectedVersion: the version of the state the decision was made on
    ///     (`StreamState.expectedVersion`).
    ///   - events: the decided events.
    ///   - checkIdempotency: whether the store looks the event ids up so that a retry returns
    ///     the original result; a decider that mints fresh ids may pass false.
    ///   - encode: the event as the store keeps it.
    public init(
        stream: String, expectedVersion: ExpectedVersion, events: [Event], checkIdempotency: Bool = true,
        encode: (Event) -> NewEvent
    ) {
        self.append = AppendRequest(
            stream: stream, expectedVersion: expectedVersion, events: events.map(encode),
            checkIdempotency: checkIdempotency)
        self.events = events
    }

    public var stream: String { append.stream }
    public var expectedVersion: ExpectedVersion { append.expectedVersion }
}

extension Decision: Equatable where Event: Equatable {}

/// What the write node knows of one stream when a command is decided.
public struct StreamState<State: Sendable>: Sendable {
    /// The version of the stream's last event, or nil when the stream has no events.
    public var version: Int64?
    /// The state folded from the stream's events by `Domain.evolve`, or nil when there are none.
    public var state: State?

    public init(version: Int64?, state: State?) {
        self.version = version
        self.state = state
    }

    /// The expected version an append decided on this state must carry.
    public var expectedVersion: ExpectedVersion {
        version.map { .exact($0) } ?? .noStream
    }
}

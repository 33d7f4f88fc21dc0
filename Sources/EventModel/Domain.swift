/// A domain the write node hosts: commands in, typed events out, folded into per-stream state.
///
/// The write node decides the commands of one batch one after another, each seeing the
/// effects of those before it, and appends all of their events in one transaction — except that
/// a command reading a stream a generic append of the same batch changed commits the batch first.
///
/// Events are folded typed: the events a command just decided are folded as they are (no
/// encoding and parsing back), and a stream read from the store is decoded once, event by event.
public protocol Domain: Sendable {
    associatedtype State: Sendable
    associatedtype Event: Sendable

    /// Turns a command into the appends it requires.
    ///
    /// - Parameters:
    ///   - command: the command as received.
    ///   - stream: looks up the current state of any stream by name.
    /// - Returns: the appends, each with the expected version of the state it was decided on and
    ///   its events both typed and encoded.
    /// - Throws: `DecisionError` (`.unknownCommand`, `.invalidArgument`, `.rejected`), answered
    ///   with the wire error of the same name; whatever `stream` throws; any other error is
    ///   reported as `Internal`.
    func decide(_ command: Command, stream: (String) throws -> StreamState<State>) throws -> [Decision<Event>]

    /// Folds one event into its stream's state. Never fails.
    func evolve(_ state: State?, _ event: Event) -> State?

    /// The typed form of a stored event, or nil for an event this domain does not know (another
    /// writer's type, or data it cannot read); such an event leaves the state as it is.
    func decode(_ recorded: RecordedEvent) -> Event?
}

extension Domain {
    /// Folds a stored event: decodes it, then `evolve`s; an event `decode` refuses changes nothing.
    public func evolve(_ state: State?, recorded: RecordedEvent) -> State? {
        guard let event = decode(recorded) else { return state }
        return evolve(state, event)
    }
}

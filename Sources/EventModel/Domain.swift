/// A domain the write node hosts: commands in, events out.
///
/// The write node decides the commands of one batch one after another, each seeing the
/// effects of those before it, and appends all of their events in one transaction — except that
/// a command reading a stream a generic append of the same batch changed commits the batch first.
public protocol Domain: Sendable {
    associatedtype State: Sendable

    /// Turns a command into the appends it requires.
    ///
    /// - Parameters:
    ///   - command: the command as received.
    ///   - stream: looks up the current state of any stream by name.
    /// - Returns: the appends, each with the expected version of the state it was decided on.
    /// - Throws: `DecisionError` (`.unknownCommand`, `.invalidArgument`, `.rejected`), answered
    ///   with the wire error of the same name; whatever `stream` throws; any other error is
    ///   reported as `Internal`.
    func decide(_ command: Command, stream: (String) throws -> StreamState<State>) throws -> [AppendRequest]

    /// Folds one event into its stream's state. Never fails: an event it does not know leaves the state as it is.
    func evolve(_ state: State?, _ event: RecordedEvent) -> State?
}

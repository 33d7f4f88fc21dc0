import EventStore
import WireProtocol

/// A read model the projection runtime keeps up to date and queries.
///
/// The runtime calls its methods from one thread at a time (a live rebuild's copy moves from the
/// builder thread to the projector thread, a replaced one to a thread that closes it, each handed
/// over once), so an implementation needs no locking.
/// It must be a pure function of the log: apply events using only their contents (the recorded
/// time, never the wall clock), so that a rebuild from position 0 equals the live model.
public protocol Projection: AnyObject {
    /// The one category this projection needs (the runtime subscribes to just that), or nil for
    /// every event. A projection needing several categories takes nil and ignores the rest.
    var category: String? { get }

    /// The checkpoint stored with the read model: the position of the last applied event, 0 when empty.
    func checkpoint() throws -> Int64

    /// Applies `events` (in global order, all above the checkpoint) and stores `position` as the
    /// new checkpoint, in one transaction: after a crash either both or neither are visible.
    ///
    /// - Parameter position: the new checkpoint; at least the last event's position (a filtered
    ///   feed may have scanned further). `events` may be empty when only the checkpoint moves.
    /// - Throws: leaving the model and the checkpoint as they were. `ReadModelStoreError` (or a
    ///   SQLite BUSY/IOERR/FULL …) when the store failed: the runtime retries the batch; anything
    ///   else stops the projector at the event it fails on (docs/PROJECTORS.md, "When `apply` throws").
    func apply(_ events: [RecordedEvent], through position: Int64) throws

    /// How long the last `apply`'s commit took, in ns: the `commit` stage of the projector's lag
    /// (0 by default, for a projection without a commit of its own; its `apply` stage holds it all).
    var lastCommitNanoseconds: Int64 { get }

    /// Called once the model first reached the write node's head after it was opened (after a
    /// catch-up, before the projector answers its next query; queries during the catch-up were
    /// answered without it): the place to build what a catch-up is faster without, e.g. indexes
    /// only queries use.
    /// A live rebuild calls it on its new copy before switching to it. Default: nothing.
    func reachedHead() throws

    /// Discards the whole read model and the checkpoint. The runtime no longer calls it (`--rebuild`
    /// builds a fresh copy beside the live one); tests use it to start a model afresh.
    func reset() throws

    /// Answers one query.
    ///
    /// - Parameters:
    ///   - name: the query's name, e.g. `ordersByStatus`.
    ///   - params: the `params` object (use `FieldReader(…, path: "params")` for precise errors).
    /// - Returns: the `result` of the reply.
    /// - Throws: `WireError` `.unknownQuery` or `.invalidArgument`; anything else is `Internal`.
    func query(_ name: String, params: JSONValue) throws -> JSONValue

    /// A digest of the whole read model's content in a canonical order (not the checkpoint), so that
    /// two models built from the same events compare equal — the rebuild-equals-live check.
    func digest() throws -> String

    /// Called once when the projector stops cleanly (after the last batch), e.g. to write a snapshot.
    func close() throws

    /// Removes what the copy keeps outside its directory — a database schema, Redis keys — once it
    /// is replaced by a rebuilt copy or abandoned (after `close`). Default: nothing (an embedded
    /// model lives in its directory, which the runtime removes).
    func discard() throws

    /// The query names this projection answers (for `UnknownQuery` messages and `health`).
    var queryNames: [String] { get }

    /// What `stats` shows of the read model's own upkeep (`readModel`), e.g. its WAL; nil for nothing.
    var statistics: JSONValue? { get }
}

extension Projection {
    /// Called once when the projector stops cleanly (after the last batch), e.g. to write a snapshot.
    public func close() throws {}

    public var statistics: JSONValue? { nil }

    public func discard() throws {}

    public func reachedHead() throws {}

    public var lastCommitNanoseconds: Int64 { 0 }
}

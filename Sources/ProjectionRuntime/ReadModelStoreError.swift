import GRDB

/// The read model's store failed, not the projection: a lost connection, a full disk, a busy or
/// failing database file. The runtime retries the batch with backoff; the events are not at fault.
///
/// A projection over a store of its own (PostgreSQL, Redis, files) throws this for such failures;
/// SQLite's are recognised by their result code.
public struct ReadModelStoreError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The store's server cannot be reached or refused the connection (not running, wrong
    /// credentials, a schema it does not own): `health` says `disconnected` until it is back.
    public var disconnected: Bool

    public init(_ message: String, disconnected: Bool = false) {
        self.message = message
        self.disconnected = disconnected
    }

    public var description: String { message }

    /// `error` as a store error when it is one: this type, or SQLite's BUSY, LOCKED, IOERR, FULL,
    /// CANTOPEN, NOMEM or PROTOCOL (the file or the machine, never the SQL).
    public static func from(_ error: any Error) -> ReadModelStoreError? {
        if let error = error as? ReadModelStoreError { return error }
        if let error = error as? DatabaseError, storeCodes.contains(error.resultCode) {
            return ReadModelStoreError("\(error)")
        }
        return nil
    }

    private static let storeCodes: [ResultCode] = [
        .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_CANTOPEN, .SQLITE_NOMEM, .SQLITE_PROTOCOL,
    ]
}

/// How long to wait before retrying a batch the store failed: 10 ms, doubling up to a ceiling;
/// the live projector and a rebuild's builder both follow it.
struct StoreRetryBackoff {
    let maxMilliseconds: Int
    private(set) var milliseconds = 0

    init(maxMilliseconds: Int) { self.maxMilliseconds = maxMilliseconds }

    /// The next wait after another failure.
    mutating func next() -> Int {
        milliseconds = min(max(10, milliseconds * 2), maxMilliseconds)
        return milliseconds
    }

    /// After a success: the next failure waits 10 ms again.
    mutating func reset() { milliseconds = 0 }
}

/// An event-store failure: a stable `code` and a `message` that states facts.
public struct EventStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// The stream's version is not the expected one; nothing was written.
        case wrongExpectedVersion
        /// Some but not all event ids of an append were already stored, or stored elsewhere.
        case idempotencyConflict
        /// The request itself is invalid (empty events, bad stream name, limit out of range …).
        case invalidArgument
        /// Another process holds the store's lock.
        case locked
        /// The store's files are damaged or not a Prism store.
        case damaged
        /// The file system refused (unwritable directory, disk full …).
        case io
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

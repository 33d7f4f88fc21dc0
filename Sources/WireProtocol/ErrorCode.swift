/// The stable error codes of the wire contract (`docs/PROTOCOL.md`).
public enum ErrorCode: String, Sendable, Equatable, CaseIterable {
    /// Not JSON, not an object, or the wrong number of frames.
    case malformed = "Malformed"
    case unknownCommand = "UnknownCommand"
    case unknownQuery = "UnknownQuery"
    /// A field is missing, of the wrong type, or out of range.
    case invalidArgument = "InvalidArgument"
    /// A domain rule forbids the command.
    case rejected = "Rejected"
    case wrongExpectedVersion = "WrongExpectedVersion"
    /// The read model did not reach `minPosition` within `timeoutMs`.
    case stale = "Stale"
    /// The outbox relay has not stored the asked row in the log within `timeoutMs` (`positionOf`).
    case notYetRelayed = "NotYetRelayed"
    /// A message or an event is over its size limit.
    case tooLarge = "TooLarge"
    /// The connection's principal lacks the role the request needs, or its key was revoked (`--keys`).
    case forbidden = "Forbidden"
    case unavailable = "Unavailable"
    case `internal` = "Internal"
}

/// A failure that is reported to the client as `{"ok": false, "error": {"code", "message"}}`.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The reply document for this error.
    public var reply: JSONValue {
        ["ok": false, "error": ["code": .string(code.rawValue), "message": .string(message)]]
    }
}

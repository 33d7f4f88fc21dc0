/// One reply of a Redis server (RESP2), copied out of hiredis's reply object.
public enum RedisValue: Sendable, Equatable {
    /// A bulk string: any bytes.
    case string([UInt8])
    /// A simple status such as `OK` or `QUEUED`.
    case status(String)
    case integer(Int64)
    /// A nil bulk string or array (a missing key, an aborted `EXEC`).
    case null
    case array([RedisValue])
    /// An error reply, e.g. `WRONGTYPE Operation against a key holding the wrong kind of value`.
    case error(String)

    /// A bulk string or status as text (UTF-8, invalid bytes replaced); nil for anything else.
    public var text: String? {
        switch self {
        case .string(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    /// An integer, or a bulk string holding one (`GET` of a counter).
    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .string(let bytes): Int64(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    public var array: [RedisValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    /// The error reply's text, nil for any other reply.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}

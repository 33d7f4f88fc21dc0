import WireProtocol

/// `{"query": name, "params": {...}, "minPosition": N, "timeoutMs": T}` as a projector receives it.
/// Public for the fuzz targets (`FuzzTargets/`), which feed `parse` hostile bytes.
public struct QueryRequest: Equatable {
    public var name: String
    public var params: JSONValue
    /// Answer only once this position is applied (read your writes).
    public var minPosition: Int64
    /// How long to wait for `minPosition`, in milliseconds.
    public var timeoutMs: Int

    /// Parses and validates a query body.
    public static func parse(_ body: [UInt8], configuration: ProjectorConfiguration) throws(WireError) -> QueryRequest {
        try parse(body, maxRequestBytes: configuration.maxRequestBytes, maxQueryWaitMs: configuration.maxQueryWaitMs)
    }

    /// Parses and validates a query body for any server that takes this framing (a projector, the outbox relay).
    ///
    /// - Parameters:
    ///   - maxRequestBytes: larger bodies are `TooLarge`.
    ///   - maxQueryWaitMs: the largest `timeoutMs` taken.
    public static func parse(_ body: [UInt8], maxRequestBytes: Int, maxQueryWaitMs: Int) throws(WireError) -> QueryRequest {
        if body.count > maxRequestBytes {
            throw WireError(.tooLarge, "query is \(body.count) bytes, more than the limit of \(maxRequestBytes)")
        }
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch { throw error.wireError }
        guard case .object(let members) = json else {
            throw WireError(.malformed, "query request must be a JSON object, got \(json.typeName)")
        }
        for key in members.keys.sorted() where !["query", "params", "minPosition", "timeoutMs"].contains(key) {
            throw WireError(.invalidArgument, "unknown field '\(key)' in query request (known: query, params, minPosition, timeoutMs)")
        }
        guard let nameValue = members["query"] else { throw WireError(.malformed, "query request must have a 'query' field") }
        guard let name = nameValue.stringValue, !name.isEmpty else {
            throw WireError(.malformed, "query must be a non-empty string, got \(nameValue.typeName)")
        }
        let params = members["params"] ?? .object([:])
        guard case .object = params else { throw WireError(.invalidArgument, "params must be an object, got \(params.typeName)") }
        var minPosition: Int64 = 0
        if let value = members["minPosition"] {
            guard let position = value.intValue, position >= 0 else {
                throw WireError(.invalidArgument, "minPosition must be an integer of 0 or more, got \(value.jsonString)")
            }
            minPosition = position
        }
        var timeoutMs = 1000
        if let value = members["timeoutMs"] {
            guard let timeout = value.intValue, timeout >= 0, timeout <= Int64(maxQueryWaitMs) else {
                throw WireError(.invalidArgument,
                    "timeoutMs must be an integer from 0 to \(maxQueryWaitMs), got \(value.jsonString)")
            }
            timeoutMs = Int(timeout)
        }
        return QueryRequest(name: name, params: params, minPosition: minPosition, timeoutMs: timeoutMs)
    }
}

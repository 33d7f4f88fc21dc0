import WireProtocol

/// A validated `search` query, read the same way by every search model (SQLite FTS5 and
/// PostgreSQL), so that both refuse the same parameters with the same messages.
struct SearchRequest {
    /// Longest `text`, in UTF-8 bytes.
    static let maxTextBytes = 200
    /// Most hits one reply may hold (`limit`).
    static let maxLimit: Int64 = 100
    /// Hits a reply holds when `limit` is absent.
    static let defaultLimit: Int64 = 20

    /// The words of `text` (`SearchText.words`), never empty.
    let words: [String]
    /// Only hits with this status, or any.
    let status: String?
    let limit: Int64

    /// Reads `search` {`text`, `status`?, `limit`? (1…100, default 20)}.
    ///
    /// - Throws: `WireError` `.unknownQuery` when `name` is not `search`, `.invalidArgument` naming the parameter.
    init(_ name: String, params: JSONValue, queryNames: [String]) throws {
        guard name == "search" else {
            throw WireError(
                .unknownQuery,
                "unknown query '\(OrdersQueryReader.clip(name))' (search answers: \(queryNames.joined(separator: ", ")))")
        }
        let params = try OrdersQueryReader(params)
        let text = try params.fields.text("text", maxBytes: Self.maxTextBytes)
        words = SearchText.words(in: text)
        if words.isEmpty {
            throw WireError(.invalidArgument, "params.text has no word to search for (a word is letters or digits)")
        }
        status = try params.optionalStatus("status")
        limit = try params.int("limit", in: 1...Self.maxLimit, default: Self.defaultLimit)
    }

    /// One hit of the reply `{"hits": [hit]}`.
    static func hit(
        orderId: String, userId: String, status: String, amountCents: Int64, description: String, snippet: String, score: Double
    ) -> JSONValue {
        [
            "orderId": .string(orderId), "userId": .string(userId), "status": .string(status), "amountCents": .int(amountCents),
            "description": .string(description), "snippet": .string(snippet), "score": .double(score),
        ]
    }
}

import GRDB
import WireProtocol

extension SearchProjection {
    /// Longest `text`, in UTF-8 bytes.
    static let maxTextBytes = 200
    /// Most hits one reply may hold (`limit`).
    static let maxLimit: Int64 = 100
    /// Hits a reply holds when `limit` is absent.
    static let defaultLimit: Int64 = 20

    /// Answers `search` {`text`, `status`?, `limit`? (1…100, default 20)} with
    /// `{"hits": [{"orderId", "userId", "status", "amountCents", "description", "snippet", "score"}]}`,
    /// best first.
    ///
    /// `text` is plain words, never FTS5 syntax: it is split into runs of letters and digits,
    /// each quoted as an FTS5 string, and a hit must hold every word (implicit AND, case- and
    /// diacritic-insensitive). `score` is `-bm25`, so higher is better; equal scores order by
    /// `orderId`. `snippet` is the description around the matches, each match in `[` `]`,
    /// cut text marked `…`.
    ///
    /// - Throws: `WireError` `.unknownQuery` or `.invalidArgument`; SQLite errors otherwise.
    public func query(_ name: String, params: JSONValue) throws -> JSONValue {
        guard name == "search" else {
            throw WireError(
                .unknownQuery,
                "unknown query '\(OrdersQueryReader.clip(name))' (search answers: \(queryNames.joined(separator: ", ")))")
        }
        let params = try OrdersQueryReader(params)
        let text = try params.fields.text("text", maxBytes: Self.maxTextBytes)
        let words = SearchText.words(in: text)
        if words.isEmpty {
            throw WireError(.invalidArgument, "params.text has no word to search for (a word is letters or digits)")
        }
        let status = try params.optionalStatus("status")
        let limit = try params.int("limit", in: 1...Self.maxLimit, default: Self.defaultLimit)

        var sql = """
            SELECT o.order_id, o.user_id, o.status, o.amount_cents, o.description,
                   snippet(search_fts, 0, '[', ']', '…', 16), -bm25(search_fts) AS score
            FROM search_fts JOIN search_orders o ON o.doc_id = search_fts.rowid
            WHERE search_fts MATCH ?
            """
        var arguments: StatementArguments = [SearchText.matchExpression(words)]
        if let status {
            sql += " AND o.status = ?"
            arguments += [status]
        }
        sql += " ORDER BY score DESC, o.order_id LIMIT ?"
        arguments += [limit]
        return try model.read { db in
            let rows = try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
            return [
                "hits": .array(rows.map { row in
                    [
                        "orderId": .string(row[0]),
                        "userId": .string(row[1]),
                        "status": .string(row[2]),
                        "amountCents": .int(row[3]),
                        "description": .string(row[4]),
                        "snippet": .string(row[5]),
                        "score": .double(row[6]),
                    ]
                }),
            ]
        }
    }
}

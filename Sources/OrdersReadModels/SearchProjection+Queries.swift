import GRDB
import WireProtocol

extension SearchProjection {
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
    /// - Throws: `WireError` `.unknownQuery` or `.invalidArgument` (`SearchRequest`); SQLite errors otherwise.
    public func query(_ name: String, params: JSONValue) throws -> JSONValue {
        let request = try SearchRequest(name, params: params, queryNames: queryNames)
        var sql = """
            SELECT o.order_id, o.user_id, o.status, o.amount_cents, o.description,
                   snippet(search_fts, 0, '[', ']', '…', 16), -bm25(search_fts) AS score
            FROM search_fts JOIN search_orders o ON o.doc_id = search_fts.rowid
            WHERE search_fts MATCH ?
            """
        var arguments: StatementArguments = [SearchText.matchExpression(request.words)]
        if let status = request.status {
            sql += " AND o.status = ?"
            arguments += [status]
        }
        sql += " ORDER BY score DESC, o.order_id LIMIT ?"
        arguments += [request.limit]
        return try model.read { db in
            let rows = try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
            return [
                "hits": .array(rows.map { row in
                    SearchRequest.hit(
                        orderId: row[0], userId: row[1], status: row[2], amountCents: row[3], description: row[4],
                        snippet: row[5], score: row[6])
                }),
            ]
        }
    }
}

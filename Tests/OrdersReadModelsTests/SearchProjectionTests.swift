import TestSupport
import EventStore
import OrdersReadModels
import Testing
import WireProtocol

@Suite struct SearchProjectionTests {
    typealias Support = OrdersTestSupport

    /// A seeded model (plus the extra orders `more` adds), applied in uneven batches; the model
    /// sees only `order-` events, as its category asks.
    func withSeededModel(
        _ more: (inout OrdersEventLog) -> Void = { _ in },
        _ body: (SearchProjection, inout OrdersEventLog) throws -> Void
    ) throws {
        try Support.withModel(SearchProjection.init(directory:)) { (model, _) throws in
            var log = OrdersEventLog.seed()
            more(&log)
            try Support.apply(log.events, to: model, batchSizes: [3, 1, 7])
            try body(model, &log)
        }
    }

    func ids(_ result: JSONValue) -> [String] {
        (result["hits"]?.arrayValue ?? []).compactMap { $0["orderId"]?.stringValue }
    }

    func scores(_ result: JSONValue) -> [Double] {
        (result["hits"]?.arrayValue ?? []).compactMap {
            if case .double(let score)? = $0["score"] { return score }
            return nil
        }
    }

    @Test func hitShape() throws {
        try withSeededModel { (model, _) throws in
            let result = try model.query("search", params: ["text": "running"])
            let hits = try #require(result["hits"]?.arrayValue)
            #expect(hits.count == 2)
            guard case .object(var first) = hits[0], case .double(let score)? = first.removeValue(forKey: "score") else {
                Issue.record("hit is not an object with a number score: \(hits[0])")
                return
            }
            #expect(score > 0)
            #expect(JSONValue.object(first) == [
                "orderId": "o1", "userId": "u1", "status": "payment_pending", "amountCents": 4999,
                "description": "red running shoes", "snippet": "red [running] shoes",
            ])
            // Equal scores (same length, same frequency) order by orderId.
            #expect(ids(result) == ["o1", "o5"])
            #expect(hits[1]["snippet"] == "green [running] shorts")
        }
    }

    @Test func moreFrequentAndDenserMatchesRankHigher() throws {
        let extra: (inout OrdersEventLog) -> Void = { log in
            log.place("s1", user: "u1", amountCents: 100, "red shoes")
            log.place("s2", user: "u1", amountCents: 100, "red red red shoes")
            log.place("s3", user: "u1", amountCents: 100, "shoes")
        }
        try withSeededModel(extra) { (model, _) throws in
            let red = try model.query("search", params: ["text": "red"])
            // o1 "red running shoes", o3 "red wool socks, pack of three": longer, lower.
            #expect(ids(red) == ["s2", "s1", "o1", "o3"])
            #expect(scores(red) == scores(red).sorted(by: >))
            #expect(red["hits"]?.arrayValue?.first?["snippet"] == "[red] [red] [red] shoes")
            // Every word must match (implicit AND): o3 and s3 lack one of them.
            let both = try model.query("search", params: ["text": "Red SHOES"])
            #expect(ids(both) == ["s2", "s1", "o1"])
            #expect(both["hits"]?.arrayValue?[2]["snippet"] == "[red] running [shoes]")
            // Nothing matches a word no description holds.
            #expect(try model.query("search", params: ["text": "red submarine"]) == ["hits": []])
        }
    }

    @Test func statusFilterFollowsStatusChanges() throws {
        try withSeededModel { (model, log) throws in
            #expect(try ids(model.query("search", params: ["text": "red", "status": "payment_pending"])) == ["o1", "o3"])
            #expect(try ids(model.query("search", params: ["text": "red", "status": "paid"])) == [])
            let start = Int(log.position)
            log.pay("o1", user: "u1")
            log.cancel("o3", user: "u2")
            try Support.apply(Array(log.events[start...]), to: model)
            let paid = try model.query("search", params: ["text": "red", "status": "paid"])
            #expect(ids(paid) == ["o1"])
            #expect(paid["hits"]?.arrayValue?.first?["status"] == "paid")
            #expect(try ids(model.query("search", params: ["text": "red", "status": "cancelled"])) == ["o3"])
            #expect(try ids(model.query("search", params: ["text": "water", "status": "shipped"])) == ["o6"])
        }
    }

    @Test func limitCutsTheRanking() throws {
        try withSeededModel { (model, _) throws in
            #expect(try ids(model.query("search", params: ["text": "red", "limit": 1])) == ["o1"])
        }
    }

    @Test func diacriticsAndCaseAreIgnored() throws {
        try withSeededModel({ log in log.place("c1", user: "u1", amountCents: 350, "Café crème, large") }) { (model, _) throws in
            let result = try model.query("search", params: ["text": "cafe CREME"])
            #expect(ids(result) == ["c1"])
            #expect(result["hits"]?.arrayValue?.first?["snippet"] == "[Café] [crème], large")
        }
    }

    /// Client texts holding FTS5 operators, quotes and SQL, with the seeded model's hits: they are
    /// plain words (or nothing), never an error (the PostgreSQL model's tests use them too).
    static let hostileTexts: [(String, [String])] = [
        ("\"red", ["o1", "o3"]),
        ("red\" OR \"blue", [String]()),
        ("AND OR (", []),
        ("red*", ["o1", "o3"]),
        ("NEAR(red shoes, 2)", []),
        ("description:red", []),
        ("-red", ["o1", "o3"]),
        ("^red +running", ["o1"]),
        ("'; DROP TABLE search_orders; --", []),
        ("red NOT shoes", []),
        ("{description}: running", []),
    ]

    /// FTS5 operators, quotes and SQL in the text are plain words (or nothing), never an SQLite error.
    @Test(arguments: hostileTexts)
    func hostileTextIsPlainWords(text: String, expected: [String]) throws {
        try withSeededModel { (model, _) throws in
            #expect(try ids(model.query("search", params: ["text": .string(text)])) == expected)
            // The model is intact afterwards.
            #expect(try ids(model.query("search", params: ["text": "red"])) == ["o1", "o3"])
        }
    }

    /// Invalid `search` parameters and the error message (the PostgreSQL model's tests use them too).
    static let invalidParamsCases: [(JSONValue, String)] = [
        (["text": "((( )))"] as JSONValue, "params.text has no word to search for (a word is letters or digits)"),
        (["text": "\"\" * - ^"], "params.text has no word to search for (a word is letters or digits)"),
        ([:], "params.text is missing"),
        (["text": ""], "params.text is empty"),
        (["text": "   "], "params.text is only white space"),
        (["text": 42], "params.text must be a string, got an integer"),
        (["text": .string(String(repeating: "a", count: 201))], "params.text is 201 bytes, more than the 200 allowed"),
        (["text": "red", "status": "lost"],
         "params.status must be one of payment_pending, paid, shipped, cancelled, got 'lost'"),
        (["text": "red", "limit": 0], "params.limit must be greater than 0, got 0"),
        (["text": "red", "limit": 101], "params.limit must be at most 100, got 101"),
        ("red", "params must be an object, got a string"),
    ]

    @Test(arguments: invalidParamsCases)
    func invalidParams(params: JSONValue, message: String) throws {
        try withSeededModel { (model, _) throws in
            #expect(wireError { try model.query("search", params: params) } == WireError(.invalidArgument, message))
        }
    }

    @Test func unknownQuery() throws {
        try Support.withModel(SearchProjection.init(directory:)) { (model, _) throws in
            #expect(wireError { try model.query("find", params: ["text": "red"]) }
                == WireError(.unknownQuery, "unknown query 'find' (search answers: search)"))
            #expect(model.queryNames == ["search"])
            #expect(model.category == "order")
        }
    }

    @Test func checkpointAndIndexPersistAcrossReopen() throws {
        try Support.withModel(SearchProjection.init(directory:)) { (model, directory) throws in
            try Support.apply(OrdersEventLog.seed().events, to: model, batchSizes: [4])
            #expect(try model.checkpoint() == 16)
            let digest = try model.digest()
            let reopened = try SearchProjection(directory: directory)
            #expect(try reopened.checkpoint() == 16)
            #expect(try reopened.digest() == digest)
            #expect(try ids(reopened.query("search", params: ["text": "tent"])) == ["o7"])
        }
    }

    @Test func batchSplitsGiveTheSameDigest() throws {
        let log = OrdersEventLog.seed()
        var digests: Set<String> = []
        for sizes in [[1], [3, 7, 2], [100], [2, 1]] {
            try Support.withModel(SearchProjection.init(directory:)) { (model, _) throws in
                try Support.apply(log.events, to: model, batchSizes: sizes)
                #expect(try model.checkpoint() == 16)
                digests.insert(try model.digest())
            }
        }
        #expect(digests.count == 1)
        try Support.withModel(SearchProjection.init(directory:)) { (model, _) throws in
            // Without the last event (o7's cancellation) the statuses differ.
            try Support.apply(Array(log.events.dropLast()), to: model)
            #expect(!digests.contains(try model.digest()))
        }
    }

    /// `search` answers from the FTS index, not from `search_orders`: an index that lost an
    /// order's entry (while its row stayed) must change the digest.
    @Test func digestSeesDriftedIndex() throws {
        try withSeededModel { (model, _) throws in
            let digest = try model.digest()
            try executeSQL("""
                INSERT INTO search_fts (search_fts, rowid, description)
                SELECT 'delete', doc_id, description FROM search_orders WHERE order_id = 'o7'
                """, inDatabaseAt: model.model.path)
            #expect(try ids(model.query("search", params: ["text": "tent"])) == [])
            #expect(try model.digest() != digest)
        }
    }

    @Test func resetEmptiesModelAndCheckpoint() throws {
        try withSeededModel { (model, log) throws in
            try model.reset()
            #expect(try model.checkpoint() == 0)
            #expect(try model.query("search", params: ["text": "red"]) == ["hits": []])
            // The index is rebuilt from scratch too.
            try Support.apply(log.events, to: model, batchSizes: [16])
            #expect(try ids(model.query("search", params: ["text": "red"])) == ["o1", "o3"])
        }
    }
}

import EventStore
import Foundation
import OrdersReadModels
import ProjectionRuntime
import TestSupport
import Testing
import WireProtocol

/// The PostgreSQL search model against a real server, compared with the embedded FTS5 model
/// built from the same events: the same hits (orderId, userId, status, amountCents, description)
/// for every query; the same order where both rankings agree (single words: more occurrences in
/// a shorter description first, equal scores by orderId); scores and snippets differ.
@Suite struct PostgresSearchProjectionTests {
    typealias Support = OrdersTestSupport

    /// The seed plus descriptions whose words PostgreSQL's own parser or `unaccent` would cut or
    /// fold differently from FTS5 (hosts, decimals, hyphens, ß, other scripts, a NUL).
    static func log() -> OrdersEventLog {
        var log = OrdersEventLog.seed()
        log.place("c1", user: "u1", amountCents: 350, "Café crème, large")
        log.place("c2", user: "u2", amountCents: 100, "NAÏVE résumé template")
        log.place("c3", user: "u2", amountCents: 100, "Straße map of Ångström")
        log.place("c4", user: "u3", amountCents: 100, "t-shirt from example.com, 2.5 litre bottle, a/b test")
        log.place("c5", user: "u3", amountCents: 100, "東京 tower ΣΟΦΙΑ mug")
        log.place("c6", user: "u4", amountCents: 100, "red shoes")
        log.place("c7", user: "u4", amountCents: 100, "red red red shoes")
        log.place("c8", user: "u4", amountCents: 100, "nul\u{0}byte red")
        log.pay("c6", user: "u4")
        log.cancel("c2", user: "u2")
        return log
    }

    /// Texts whose hits must be the same in both models.
    static let texts = [
        "red", "RED shoes", "running", "cafe", "CAFÉ CREME", "café", "naive resume", "Naïve", "strasse", "straße", "angstrom",
        "ÅNGSTRÖM", "t shirt", "tshirt", "shirt", "example", "example com", "2 5", "2.5", "5", "litre", "a b", "東京", "σοφια",
        "ΣΟΦΙΑ", "nul", "byte", "water", "tent", "submarine", "red submarine", "of",
    ] + SearchProjectionTests.hostileTexts.map(\.0)

    /// Single words, for which both rankings give the same order.
    static let sameOrderTexts = ["red", "running", "cafe", "shoes", "of", "test"]

    /// A hit without what may differ (score, snippet).
    static func comparable(_ hit: JSONValue) -> JSONValue {
        guard case .object(var fields) = hit else { return hit }
        fields["score"] = nil
        fields["snippet"] = nil
        return .object(fields)
    }

    static func hits(_ result: JSONValue) -> [JSONValue] { (result["hits"]?.arrayValue ?? []).map(comparable) }

    static func ids(_ result: JSONValue) -> [String] { (result["hits"]?.arrayValue ?? []).compactMap { $0["orderId"]?.stringValue } }

    @Test func answersWithTheEmbeddedModelsHits() throws {
        let store = try PostgresTestStore()
        let postgres = try PostgresSearchProjection(settings: store.settings(), directory: PostgresTestStore.directory)
        try Support.withModel(SearchProjection.init(directory:)) { embedded, _ in
            let log = Self.log()
            try Support.apply(log.events, to: embedded, batchSizes: [3, 1, 7])
            try Support.apply(log.events, to: postgres, batchSizes: [3, 1, 7])
            #expect(try postgres.checkpoint() == log.position)
            var checked = 0
            for text in Self.texts {
                for status in [nil, "payment_pending", "paid", "cancelled"] as [String?] {
                    var params: [String: JSONValue] = ["text": .string(text), "limit": 100]
                    params["status"] = status.map(JSONValue.string)
                    let expected = try embedded.query("search", params: .object(params))
                    let actual = try postgres.query("search", params: .object(params))
                    let byId = { (hits: [JSONValue]) in hits.sorted { ($0["orderId"]?.stringValue ?? "") < ($1["orderId"]?.stringValue ?? "") } }
                    #expect(byId(Self.hits(actual)) == byId(Self.hits(expected)), "text \(text), status \(status ?? "any")")
                    if Self.sameOrderTexts.contains(text) {
                        #expect(Self.ids(actual) == Self.ids(expected), "order for text \(text), status \(status ?? "any")")
                    }
                    checked += Self.hits(expected).count
                }
            }
            #expect(checked > 50)
            // A limit cuts the same ranking; the index built at the head changes no answer.
            #expect(try Self.ids(postgres.query("search", params: ["text": "red", "limit": 2])) == ["c7", "c6"])
            try postgres.reachedHead()
            #expect(try Self.ids(postgres.query("search", params: ["text": "red", "limit": 2])) == ["c7", "c6"])
            #expect(try Self.ids(postgres.query("search", params: ["text": "Red SHOES"])).sorted() == ["c6", "c7", "o1"])
        }
    }

    @Test func scoresAndSnippets() throws {
        let store = try PostgresTestStore()
        let postgres = try PostgresSearchProjection(settings: store.settings(), directory: PostgresTestStore.directory)
        try Support.apply(Self.log().events, to: postgres)
        let red = try postgres.query("search", params: ["text": "red"])
        let scores = (red["hits"]?.arrayValue ?? []).compactMap { hit -> Double? in
            if case .double(let score)? = hit["score"] { return score }
            return nil
        }
        #expect(scores.count == 5 && scores.allSatisfy { $0 > 0 } && scores == scores.sorted(by: >))
        #expect(red["hits"]?.arrayValue?.first?["snippet"] == "[red] [red] [red] shoes")
        // ts_headline finds the matches in the original description (through unaccent).
        let cafe = try postgres.query("search", params: ["text": "cafe CREME"])
        #expect(cafe["hits"]?.arrayValue?.first?["snippet"] == "[Café] [crème], large")
    }

    @Test func refusesTheSameParameters() throws {
        let store = try PostgresTestStore()
        let postgres = try PostgresSearchProjection(settings: store.settings(), directory: PostgresTestStore.directory)
        for (params, message) in SearchProjectionTests.invalidParamsCases {
            #expect(wireError { try postgres.query("search", params: params) } == WireError(.invalidArgument, message))
        }
        #expect(wireError { try postgres.query("find", params: ["text": "red"]) }
            == WireError(.unknownQuery, "unknown query 'find' (search answers: search)"))
        #expect(postgres.queryNames == ["search"] && postgres.category == "order")
    }

    /// Batch splits, a rebuild, a reopen and a reset: the digest is a function of the events.
    @Test func digestCheckpointAndReset() throws {
        let store = try PostgresTestStore()
        let log = Self.log()
        var digests: Set<String> = []
        for (index, sizes) in [[1], [3, 7, 2], [100], [2, 1]].enumerated() {
            let model = try PostgresSearchProjection(settings: store.settings(prefix: "split\(index)"), directory: PostgresTestStore.directory)
            try Support.apply(log.events, to: model, batchSizes: sizes)
            #expect(try model.checkpoint() == log.position)
            digests.insert(try model.digest())
        }
        #expect(digests.count == 1)
        let live = try PostgresSearchProjection(settings: store.settings(), directory: PostgresTestStore.directory)
        try Support.apply(Array(log.events.dropLast()), to: live)
        #expect(!digests.contains(try live.digest()), "the last cancellation must change the digest")
        try live.close()
        let reopened = try PostgresSearchProjection(settings: store.settings(), directory: PostgresTestStore.directory)
        #expect(try reopened.checkpoint() == log.position - 1)
        try Support.apply([log.events.last!], to: reopened)
        #expect(digests.contains(try reopened.digest()))
        try reopened.reset()
        #expect(try reopened.checkpoint() == 0)
        #expect(try reopened.query("search", params: ["text": "red"]) == ["hits": []])
        try Support.apply(log.events, to: reopened, batchSizes: [16])
        #expect(digests.contains(try reopened.digest()))
    }

    /// Events the embedded model ignores change nothing here either, and the order of events
    /// inside one batch is the embedded model's (a status change before its order's creation,
    /// a second creation).
    @Test func ignoresWhatTheEmbeddedModelIgnores() throws {
        let store = try PostgresTestStore()
        var log = OrdersEventLog()
        log.pay("early", user: "u1")  // before its order exists: no row to update
        log.place("early", user: "u1", amountCents: 100, "early bird")
        log.place("early", user: "u1", amountCents: 999, "second creation ignored")
        let malformed: [(String, String)] = [
            ("OrderCreated", #"{"orderId":"m1","userId":"u1","amountCents":"100","description":"bad amount"}"#),
            ("OrderCreated", #"{"orderId":"m2","userId":"u1","amountCents":1e2,"description":"exponent amount"}"#),
            ("OrderCreated", #"{"orderId":"m3","userId":"u1","amountCents":1.5,"description":"fraction amount"}"#),
            ("OrderCreated", #"{"orderId":"m4","userId":"u1","amountCents":100,"description":42}"#),
            ("OrderCreated", #"{"orderId":"m5","amountCents":100,"description":"no user"}"#),
            ("OrderCreated", #"["orderId","m6"]"#),
            ("OrderShipped", #"{"orderId":42}"#),
            ("OrderShipped", "not json"),
            ("OrderNoteAdded", #"{"orderId":"early","status":"shipped"}"#),
        ]
        for (type, data) in malformed { log.append(stream: "order-x", type: type, bytes: Array(data.utf8)) }
        log.place("late", user: "u2", amountCents: 100, "late bird")
        let postgres = try PostgresSearchProjection(settings: store.settings(), directory: PostgresTestStore.directory)
        try Support.apply(log.events, to: postgres, batchSizes: [100])
        try Support.withModel(SearchProjection.init(directory:)) { embedded, _ in
            try Support.apply(log.events, to: embedded, batchSizes: [100])
            for text in ["bird", "amount", "user", "creation", "early"] {
                let expected = try embedded.query("search", params: ["text": .string(text)])
                #expect(Self.hits(try postgres.query("search", params: ["text": .string(text)])) == Self.hits(expected), "text \(text)")
            }
        }
        #expect(try postgres.query("search", params: ["text": "early"])["hits"]?.arrayValue?.first?["status"] == "payment_pending")
    }
}

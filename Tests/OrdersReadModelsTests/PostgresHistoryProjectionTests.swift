import EventStore
import Foundation
import OrdersDomain
import OrdersReadModels
import ProjectionRuntime
import TestSupport
import Testing
import WireProtocol

/// The PostgreSQL history model against a real server: built from the same events as the
/// embedded `HistoryProjection`, it gives the same JSON for every query and every error.
@Suite struct PostgresHistoryProjectionTests {
    /// Month boundaries, leap days, years at the ends of the nanosecond range, cancellations
    /// (repeated, of unknown orders, in another month), repeated creations, unknown types and
    /// malformed data.
    static func log() -> HistoryStatusTestLog {
        var log = HistoryStatusTestLog()
        let lastOfJanuary = utcNanoseconds(2026, 1, 31, 23, 59, 59, nanoseconds: 999_000_000)
        let firstOfFebruary = utcNanoseconds(2026, 2, 1)
        log.create("b1", user: "u1", cents: 1500, at: lastOfJanuary)
        log.create("b2", user: "u1", cents: 2500, at: firstOfFebruary)
        log.create("b3", user: "u1", cents: 100, at: firstOfFebruary - 1)
        for year in [1678, 1900, 1969, 1970, 2000, 2024, 2100, 2261] {
            for month in 1...12 {
                let start = utcNanoseconds(year, month, 1)
                let next = month == 12 ? utcNanoseconds(year + 1, 1, 1) : utcNanoseconds(year, month + 1, 1)
                log.create("first-\(year)-\(month)", user: "y\(year)", cents: Int64(month), at: start)
                log.create("last-\(year)-\(month)", user: "y\(year)", cents: Int64(100 * month), at: next - 1)
            }
        }
        log.create("leap-2024", user: "u2", at: utcNanoseconds(2024, 2, 29, 23, 59, 59))
        log.create("march-1900", user: "u3", at: utcNanoseconds(1900, 2, 28) + 86_400_000_000_000)
        let january = utcNanoseconds(2026, 1, 5)
        log.create("o1", user: "u4", cents: 1000, at: january)
        log.create("o2", user: "u4", cents: 500, at: january + 1)
        log.create("o3", user: "u4", cents: 700, at: utcNanoseconds(2026, 2, 5))
        log.pay("o1", user: "u4")
        log.ship("o1", user: "u4")
        log.cancel("o2", user: "u4", at: utcNanoseconds(2026, 3, 5))
        log.cancel("o2", user: "u4")
        log.cancel("ghost", user: "u4")
        log.create("o1", user: "u4", cents: 9999, at: utcNanoseconds(2026, 2, 6))
        log.appendRaw(stream: "order-o3", type: "OrderNoteAdded", data: Array(#"{"orderId":"o3"}"#.utf8))
        log.appendRaw(stream: "order-m1", type: "OrderCreated", data: Array(#"{"orderId":"m1","userId":"u4"}"#.utf8))
        log.appendRaw(stream: "order-m2", type: "OrderCreated", data: Array(#"{"orderId":"m2","userId":"u4","amountCents":1e3}"#.utf8))
        log.appendRaw(stream: "order-m3", type: "OrderCreated", data: Array(#"{"orderId":"m3","userId":4,"amountCents":10}"#.utf8))
        log.appendRaw(stream: "order-m4", type: "OrderCreated", data: Array("not json".utf8))
        log.appendRaw(stream: "order-o3", type: "OrderCancelled", data: Array(#"{"order":"o3"}"#.utf8))
        // Within one batch: a cancellation before its order's creation does not count.
        log.cancel("late", user: "u5", at: january)
        log.create("late", user: "u5", cents: 300, at: january)
        for index in 0..<80 {
            let at = utcNanoseconds(2025, 1 + index % 12, 1 + index % 28, index % 24)
            log.create("r\(index)", user: "r\(index % 5)", cents: Int64(100 + index), at: at)
            if index % 4 == 1 { log.cancel("r\(index - 1)", user: "r\((index - 1) % 5)", at: at + 2) }
        }
        return log
    }

    /// `monthly` queries over every user of `log()`, wide and narrow.
    static var queries: [JSONValue] {
        var users = ["u1", "u2", "u3", "u4", "u5", "nobody"] + (0..<5).map { "r\($0)" }
        users += [1678, 1900, 1969, 1970, 2000, 2024, 2100, 2261].map { "y\($0)" }
        var queries: [JSONValue] = []
        for user in users {
            for (from, to) in [("2025-01", "2026-12"), ("2026-01", "2026-01"), ("2026-02", "2026-03"), ("2024-01", "2024-12")] {
                queries.append(["userId": .string(user), "from": .string(from), "to": .string(to)])
            }
        }
        for year in [1678, 1900, 1969, 1970, 2000, 2100, 2261] {
            queries.append(["userId": .string("y\(year)"), "from": .string("\(year)-01"), "to": .string("\(year)-12")])
            queries.append(["userId": "u3", "from": .string("\(year)-01"), "to": .string("\(year)-12")])
        }
        return queries
    }

    @Test func answersExactlyAsTheEmbeddedModel() throws {
        let store = try PostgresTestStore()
        let postgres = try PostgresHistoryProjection(settings: store.settings(), directory: PostgresTestStore.directory)
        try withTemporaryDirectory { directory in
            let embedded = try HistoryProjection(directory: directory)
            let events = Self.log().orderEvents
            try applyInBatches(embedded, events, sizes: [7, 1, 30])
            try applyInBatches(postgres, events, sizes: [7, 1, 30])
            #expect(try postgres.checkpoint() == events.last!.position)
            var months = 0
            for params in Self.queries {
                let expected = try embedded.query("monthly", params: params)
                #expect(try postgres.query("monthly", params: params) == expected, "\(params.jsonString)")
                months += expected["months"]?.arrayValue?.count ?? 0
            }
            #expect(months > 100)
        }
        for (params, message) in HistoryProjectionTests.invalidParamsCases {
            #expect(queryError(postgres, "monthly", params) == WireError(.invalidArgument, message))
        }
        #expect(queryError(postgres, "orderStatus", [:]) == WireError(.unknownQuery, "unknown query 'orderStatus' (history answers: monthly)"))
        #expect(try postgres.query("monthly", params: ["userId": "u1", "from": "2026-01", "to": "2036-01"])["months"]?.arrayValue?.count == 2)
    }

    /// Batch splits give the same digest (a rebuild equals the live model); the checkpoint
    /// survives a reopen and moves alone; reset empties.
    @Test func digestCheckpointAndReset() throws {
        let store = try PostgresTestStore()
        let events = Self.log().orderEvents
        var digests: Set<String> = []
        for (index, sizes) in [[1], [2, 5], [1000], [7, 1, 2]].enumerated() {
            let model = try PostgresHistoryProjection(settings: store.settings(prefix: "split\(index)"), directory: PostgresTestStore.directory)
            try applyInBatches(model, events, sizes: sizes)
            digests.insert(try model.digest())
        }
        #expect(digests.count == 1)
        let model = try PostgresHistoryProjection(settings: store.settings(), directory: PostgresTestStore.directory)
        let emptyDigest = try model.digest()
        try model.apply(Array(events.prefix(3)), through: 3)
        try model.apply([], through: 9)  // a filtered feed moves only the checkpoint
        try model.close()
        let reopened = try PostgresHistoryProjection(settings: store.settings(), directory: PostgresTestStore.directory)
        #expect(try reopened.checkpoint() == 9)
        #expect(try reopened.digest() != emptyDigest)
        try reopened.reset()
        #expect(try reopened.checkpoint() == 0)
        #expect(try reopened.digest() == emptyDigest)
        #expect(try reopened.query("monthly", params: ["userId": "u1", "from": "2026-01", "to": "2026-02"]) == ["userId": "u1", "months": []])
        try applyInBatches(reopened, events, sizes: [50])
        #expect(digests.contains(try reopened.digest()))
    }

    /// The correctness half of a benchmark: a larger log in any batch size, identical to the embedded model.
    @Test func largeLogMatchesTheEmbeddedModel() throws {
        let store = try PostgresTestStore()
        let events = historyStatusBenchmarkLog(orders: 20_000, users: 200).orderEvents
        let big = try PostgresHistoryProjection(settings: store.settings(prefix: "big"), directory: PostgresTestStore.directory)
        try applyInBatches(big, events, sizes: [1000])
        let small = try PostgresHistoryProjection(settings: store.settings(prefix: "small"), directory: PostgresTestStore.directory)
        try applyInBatches(small, events, sizes: [1, 13, 250])
        #expect(try big.digest() == small.digest(), "batch sizes changed the model")
        try withTemporaryDirectory { directory in
            let embedded = try HistoryProjection(directory: directory)
            try applyInBatches(embedded, events, sizes: [1000])
            for user in [0, 7, 199] {
                let params: JSONValue = ["userId": .string("user-\(user)"), "from": "2024-01", "to": "2025-12"]
                #expect(try big.query("monthly", params: params) == embedded.query("monthly", params: params))
            }
        }
    }
}

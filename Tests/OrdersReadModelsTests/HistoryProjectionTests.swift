import EventStore
import Foundation
import OrdersReadModels
import ProjectionRuntime
import TestSupport
import Testing
import WireProtocol

@Suite struct HistoryProjectionTests {
    private func monthly(_ projection: HistoryProjection, _ userId: String, _ from: String, _ to: String) throws -> JSONValue {
        try projection.query("monthly", params: ["userId": .string(userId), "from": .string(from), "to": .string(to)])
    }

    /// The month names of a `monthly` result.
    private func monthNames(_ result: JSONValue) -> [String] {
        (result["months"]?.arrayValue ?? []).compactMap { $0["month"]?.stringValue }
    }

    private func order(_ orderId: String, _ cents: Int64, _ createdAt: Int64, cancelled: Bool = false) -> JSONValue {
        ["orderId": .string(orderId), "amountCents": .int(cents), "createdAt": .int(createdAt), "cancelled": .bool(cancelled)]
    }

    @Test func monthBoundary() throws {
        try withTemporaryDirectory { directory in
            let lastOfJanuary = utcNanoseconds(2026, 1, 31, 23, 59, 59, nanoseconds: 999_000_000)
            let firstOfFebruary = utcNanoseconds(2026, 2, 1)
            var log = HistoryStatusTestLog()
            log.create("o1", user: "u1", cents: 1500, at: lastOfJanuary)
            log.create("o2", user: "u1", cents: 2500, at: firstOfFebruary)
            log.create("o3", user: "u1", cents: 100, at: firstOfFebruary - 1)
            let projection = try HistoryProjection(directory: directory)
            try projection.apply(log.events, through: log.lastPosition)
            #expect(
                try monthly(projection, "u1", "2026-01", "2026-02") == [
                    "userId": "u1",
                    "months": [
                        [
                            "month": "2026-01", "count": 2, "totalCents": 1600, "cancelledCount": 0, "cancelledCents": 0,
                            "orders": [order("o1", 1500, lastOfJanuary), order("o3", 100, firstOfFebruary - 1)],
                        ],
                        [
                            "month": "2026-02", "count": 1, "totalCents": 2500, "cancelledCount": 0, "cancelledCents": 0,
                            "orders": [order("o2", 2500, firstOfFebruary)],
                        ],
                    ],
                ])
        }
    }

    /// Orders at the first and the last nanosecond of every month of years around leap-year rules
    /// and the ends of the Int64 nanosecond range land in exactly that month.
    @Test(arguments: [1678, 1900, 1969, 1970, 2000, 2023, 2024, 2100, 2261])
    func everyMonthOfAYear(year: Int) throws {
        try withTemporaryDirectory { directory in
            var log = HistoryStatusTestLog()
            var expected: [String] = []
            for month in 1...12 {
                let start = utcNanoseconds(year, month, 1)
                let next = month == 12 ? utcNanoseconds(year + 1, 1, 1) : utcNanoseconds(year, month + 1, 1)
                log.create("first-\(month)", user: "u1", cents: Int64(month), at: start)
                log.create("last-\(month)", user: "u1", cents: Int64(100 * month), at: next - 1)
                expected.append(String(format: "%04d-%02d", year, month))
            }
            let projection = try HistoryProjection(directory: directory)
            try projection.apply(log.events, through: log.lastPosition)
            let result = try monthly(projection, "u1", expected.first!, expected.last!)
            #expect(monthNames(result) == expected)
            for (index, month) in (result["months"]?.arrayValue ?? []).enumerated() {
                let ids = (month["orders"]?.arrayValue ?? []).compactMap { $0["orderId"]?.stringValue }
                #expect(ids == ["first-\(index + 1)", "last-\(index + 1)"])
                #expect(month["totalCents"] == .int(Int64(101 * (index + 1))))
            }
        }
    }

    @Test func leapDays() throws {
        try withTemporaryDirectory { directory in
            var log = HistoryStatusTestLog()
            log.create("leap-2024", user: "u1", at: utcNanoseconds(2024, 2, 29, 23, 59, 59))
            log.create("march-2024", user: "u1", at: utcNanoseconds(2024, 2, 29) + 86_400_000_000_000)
            log.create("leap-2000", user: "u2", at: utcNanoseconds(2000, 2, 29, 12))
            // 1900 is not a leap year: the day after 28 February is 1 March.
            log.create("march-1900", user: "u3", at: utcNanoseconds(1900, 2, 28) + 86_400_000_000_000)
            let projection = try HistoryProjection(directory: directory)
            try projection.apply(log.events, through: log.lastPosition)
            #expect(monthNames(try monthly(projection, "u1", "2024-01", "2024-12")) == ["2024-02", "2024-03"])
            #expect(monthNames(try monthly(projection, "u2", "2000-01", "2000-12")) == ["2000-02"])
            #expect(monthNames(try monthly(projection, "u3", "1900-01", "1900-12")) == ["1900-03"])
        }
    }

    @Test func fromAndToAreInclusiveFilters() throws {
        try withTemporaryDirectory { directory in
            var log = HistoryStatusTestLog()
            log.create("dec", user: "u1", at: utcNanoseconds(2025, 12, 10))
            log.create("jan", user: "u1", at: utcNanoseconds(2026, 1, 10))
            log.create("mar", user: "u1", at: utcNanoseconds(2026, 3, 10))
            log.create("other", user: "u2", at: utcNanoseconds(2026, 1, 10))
            let projection = try HistoryProjection(directory: directory)
            try projection.apply(log.events, through: log.lastPosition)
            #expect(monthNames(try monthly(projection, "u1", "2025-01", "2026-12")) == ["2025-12", "2026-01", "2026-03"])
            #expect(monthNames(try monthly(projection, "u1", "2026-01", "2026-02")) == ["2026-01"])
            #expect(monthNames(try monthly(projection, "u1", "2025-12", "2026-01")) == ["2025-12", "2026-01"])
            #expect(monthNames(try monthly(projection, "u1", "2026-03", "2026-03")) == ["2026-03"])
            #expect(try monthly(projection, "u1", "2026-02", "2026-02") == ["userId": "u1", "months": []])
            #expect(try monthly(projection, "nobody", "2000-01", "2009-12") == ["userId": "nobody", "months": []])
        }
    }

    @Test func cancelledOrdersStayCountedInTheirCreationMonth() throws {
        try withTemporaryDirectory { directory in
            let january = utcNanoseconds(2026, 1, 5)
            let february = utcNanoseconds(2026, 2, 5)
            let march = utcNanoseconds(2026, 3, 5)
            var log = HistoryStatusTestLog()
            log.create("o1", user: "u1", cents: 1000, at: january)
            log.create("o2", user: "u1", cents: 500, at: january + 1)
            log.create("o3", user: "u1", cents: 700, at: february)
            log.pay("o1", user: "u1", at: february)
            log.ship("o1", user: "u1", at: march)
            log.cancel("o2", user: "u1", at: march)  // counted in January, where o2 was created
            log.cancel("o2", user: "u1", at: march)  // a second cancellation changes nothing
            log.cancel("ghost", user: "u1", at: march)  // never created: ignored
            log.appendRaw(stream: "order-o3", type: "OrderNoteAdded", data: Array(#"{"orderId":"o3"}"#.utf8), at: march)
            let projection = try HistoryProjection(directory: directory)
            try projection.apply(log.events, through: log.lastPosition)
            #expect(
                try monthly(projection, "u1", "2026-01", "2026-03") == [
                    "userId": "u1",
                    "months": [
                        [
                            "month": "2026-01", "count": 2, "totalCents": 1500, "cancelledCount": 1, "cancelledCents": 500,
                            "orders": [order("o1", 1000, january), order("o2", 500, january + 1, cancelled: true)],
                        ],
                        [
                            "month": "2026-02", "count": 1, "totalCents": 700, "cancelledCount": 0, "cancelledCents": 0,
                            "orders": [order("o3", 700, february)],
                        ],
                    ],
                ])
        }
    }

    @Test func repeatedCreationCountsOnce() throws {
        try withTemporaryDirectory { directory in
            var log = HistoryStatusTestLog()
            log.create("o1", user: "u1", cents: 1000, at: utcNanoseconds(2026, 1, 5))
            log.create("o1", user: "u1", cents: 9999, at: utcNanoseconds(2026, 2, 5))
            log.appendRaw(stream: "order-o2", type: "OrderCreated", data: Array(#"{"orderId":"o2","userId":"u1"}"#.utf8))
            let projection = try HistoryProjection(directory: directory)
            try projection.apply(log.events, through: log.lastPosition)
            let result = try monthly(projection, "u1", "2026-01", "2026-12")
            #expect(monthNames(result) == ["2026-01"])
            #expect(result["months"]?.arrayValue?.first?["totalCents"] == 1000)
        }
    }

    @Test(arguments: [[1], [2, 5], [3], [1000], [7, 1, 2]])
    func batchSplitsGiveTheSameDigest(sizes: [Int]) throws {
        try withTemporaryDirectory { directory in
            var log = HistoryStatusTestLog()
            for index in 0..<80 {
                let at = utcNanoseconds(2025, 1 + index % 12, 1 + index % 28, index % 24)
                log.create("o\(index)", user: "u\(index % 5)", cents: Int64(100 + index), at: at)
                if index % 3 == 0 { log.pay("o\(index)", user: "u\(index % 5)", at: at + 1) }
                if index % 4 == 1 { log.cancel("o\(index - 1)", user: "u\((index - 1) % 5)", at: at + 2) }
            }
            let whole = try HistoryProjection(directory: directory + "/whole")
            try whole.apply(log.events, through: log.lastPosition)
            let split = try HistoryProjection(directory: directory + "/split")
            try applyInBatches(split, log.events, sizes: sizes)
            #expect(try split.digest() == whole.digest())
            #expect(try split.checkpoint() == whole.checkpoint())
        }
    }

    @Test func checkpointPersistsAndResetClears() throws {
        try withTemporaryDirectory { directory in
            var log = HistoryStatusTestLog()
            log.create("o1", user: "u1", at: utcNanoseconds(2026, 1, 5))
            log.cancel("o1", user: "u1", at: utcNanoseconds(2026, 1, 6))
            let emptyDigest = try HistoryProjection(directory: directory + "/empty").digest()
            do {
                let projection = try HistoryProjection(directory: directory + "/model")
                #expect(try projection.checkpoint() == 0)
                try projection.apply(log.events, through: 2)
                try projection.apply([], through: 9)  // a filtered feed moves only the checkpoint
            }
            let reopened = try HistoryProjection(directory: directory + "/model")
            #expect(try reopened.checkpoint() == 9)
            #expect(try reopened.digest() != emptyDigest)
            #expect(monthNames(try monthly(reopened, "u1", "2026-01", "2026-01")) == ["2026-01"])

            try reopened.reset()
            #expect(try reopened.checkpoint() == 0)
            #expect(try reopened.digest() == emptyDigest)
            #expect(try monthly(reopened, "u1", "2026-01", "2026-01") == ["userId": "u1", "months": []])
            try reopened.apply(log.events, through: 2)
            #expect(try reopened.checkpoint() == 2)
        }
    }

    @Test func unknownQuery() throws {
        try withTemporaryDirectory { directory in
            let projection = try HistoryProjection(directory: directory)
            #expect(projection.queryNames == ["monthly"])
            #expect(queryError(projection, "orderStatus", [:]) == WireError(.unknownQuery, "unknown query 'orderStatus' (history answers: monthly)"))
        }
    }

    /// Invalid `monthly` parameters and the error message (the PostgreSQL model's tests use them too).
    static let invalidParamsCases: [(JSONValue, String)] = [
        (JSONValue.string("u1"), "params must be an object, got a string"),
        (["from": "2026-01", "to": "2026-02"], "params.userId is missing"),
        (["userId": "u1", "to": "2026-02"], "params.from is missing"),
        (["userId": "u1", "from": "2026-01"], "params.to is missing"),
        (["userId": "u1", "from": 202601, "to": "2026-02"], "params.from must be a string, got an integer"),
        (["userId": "u1", "from": "2026-13", "to": "2026-12"], #"params.from must be a month like 2026-01, got "2026-13""#),
        (["userId": "u1", "from": "2026-00", "to": "2026-12"], #"params.from must be a month like 2026-01, got "2026-00""#),
        (["userId": "u1", "from": "2026-1", "to": "2026-12"], #"params.from must be a month like 2026-01, got "2026-1""#),
        (["userId": "u1", "from": "2026-01", "to": "26-12"], #"params.to must be a month like 2026-01, got "26-12""#),
        (["userId": "u1", "from": "2026-01", "to": "2026-01-05"], #"params.to must be a month like 2026-01, got "2026-01-05""#),
        (["userId": "u1", "from": "2026-01", "to": "２０２６-01"], #"params.to must be a month like 2026-01, got "２０２６-01""#),
        (["userId": "u1", "from": "2026-03", "to": "2026-02"], "params.to (2026-02) must not be before params.from (2026-03)"),
        (["userId": "u1", "from": "2026-01", "to": "2036-02"], "params.to (2036-02) must be at most 120 months after params.from (2026-01), it is 121"),
    ]

    @Test(arguments: invalidParamsCases)
    func invalidParams(params: JSONValue, message: String) throws {
        try withTemporaryDirectory { directory in
            let projection = try HistoryProjection(directory: directory)
            #expect(queryError(projection, "monthly", params) == WireError(.invalidArgument, message))
        }
    }

    @Test func spanOfExactly120MonthsIsAccepted() throws {
        try withTemporaryDirectory { directory in
            let projection = try HistoryProjection(directory: directory)
            #expect(try monthly(projection, "u1", "2026-01", "2036-01") == ["userId": "u1", "months": []])
        }
    }

    /// The correctness half of the benchmark below, at a size the suite can afford: batch sizes
    /// do not change the model, and a user's months add up to that user's orders.
    @Test func largeLogGivesTheSameModelInAnyBatchSizeAndCountsEveryOrder() throws {
        try withTemporaryDirectory { directory in
            let events = historyStatusBenchmarkLog(orders: 20_000, users: 200).orderEvents
            let big = try HistoryProjection(directory: directory + "/big")
            try applyInBatches(big, events, sizes: [1000])
            let small = try HistoryProjection(directory: directory + "/small")
            try applyInBatches(small, events, sizes: [1, 13, 250])
            #expect(try big.digest() == small.digest(), "batch sizes changed the model")
            let result = try big.query("monthly", params: ["userId": "user-7", "from": "2024-01", "to": "2025-12"])
            let months = result["months"]?.arrayValue ?? []
            #expect(!months.isEmpty)
            #expect(months.compactMap { $0["count"]?.intValue }.reduce(0, +) == 100, "user-7 placed 100 of the 20,000 orders: \(months.prefix(2))")
        }
    }

    /// Prints apply rates for 200,000 orders (about 540,000 events) in batches of 1000 and of 100.
    @Test(.enabled(if: historyStatusBenchmarksEnabled), .serialized, arguments: [1000, 100])
    func benchmark(batchSize: Int) throws {
        try withTemporaryDirectory { directory in
            let log = historyStatusBenchmarkLog(orders: 200_000, users: 20_000)
            let events = log.orderEvents
            let creations = events.filter { $0.type == "OrderCreated" }
            let projection = try HistoryProjection(directory: directory + "/mixed")
            let mixedSeconds = try historyStatusSeconds { try applyInBatches(projection, events, sizes: [batchSize]) }
            let createdOnly = try HistoryProjection(directory: directory + "/created")
            let createdSeconds = try historyStatusSeconds { try applyInBatches(createdOnly, creations, sizes: [batchSize]) }
            var result: JSONValue = .null
            let querySeconds = try historyStatusSeconds {
                for user in 0..<1000 {
                    result = try projection.query("monthly", params: ["userId": .string("user-\(user)"), "from": "2024-01", "to": "2025-12"])
                }
            }
            #expect(result["months"]?.arrayValue?.isEmpty == false)
            print(
                """
                history benchmark (batches of \(batchSize)): mixed: \(historyStatusRate(events.count, mixedSeconds)); \
                OrderCreated only: \(historyStatusRate(creations.count, createdSeconds)); \
                monthly over 24 months: \(Int(querySeconds.wall / 1000 * 1e6)) µs wall, \(Int(querySeconds.cpu / 1000 * 1e6)) µs CPU per query
                """)
        }
    }
}

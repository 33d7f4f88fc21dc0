import TestSupport
import EventStore
import OrdersDomain
import OrdersReadModels
import Testing
import WireProtocol

@Suite struct OrdersProjectionTests {
    typealias Support = OrdersTestSupport

    /// A seeded model, applied in uneven batches.
    func withSeededModel(_ body: (OrdersProjection, inout OrdersEventLog) throws -> Void) throws {
        try Support.withModel(OrdersProjection.init(directory:)) { (model, _) throws in
            var log = OrdersEventLog.seed()
            try Support.apply(log.events, to: model, batchSizes: [3, 1, 7])
            try body(model, &log)
        }
    }

    /// A model built from empty builds `orders_by_status` at the head, also after a restart in
    /// the middle of its catch-up, and answers alike without it.
    @Test func theStatusIndexOfAModelBuiltFromEmptyIsBuiltAtTheHead() throws {
        func indexes(_ model: OrdersProjection) throws -> [String] {
            try model.model.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name") }
        }
        try Support.withModel(OrdersProjection.init(directory:)) { (model, directory) throws in
            try Support.apply(OrdersEventLog.seed().events, to: model, batchSizes: [3, 1, 7])
            #expect(try indexes(model) == ["orders_by_user"])
            let params: JSONValue = ["status": "payment_pending", "order": "amountDesc"]
            let withoutIndex = try model.query("ordersByStatus", params: params)
            try model.reachedHead()
            #expect(try indexes(model) == ["orders_by_status", "orders_by_user"])
            #expect(try model.query("ordersByStatus", params: params) == withoutIndex)

            let reopened = try OrdersProjection(directory: directory + "/again")
            #expect(try indexes(reopened) == ["orders_by_user"], "an empty model defers it")
            try Support.apply(OrdersEventLog.seed().events, to: reopened)
            let afterRestart = try OrdersProjection(directory: directory + "/again")
            #expect(try indexes(afterRestart) == ["orders_by_user"], "a restart before the head keeps waiting for it")
            try afterRestart.reachedHead()
            #expect(try indexes(OrdersProjection(directory: directory + "/again")) == ["orders_by_status", "orders_by_user"])
        }
    }

    func ids(_ result: JSONValue) -> [String] {
        (result["orders"]?.arrayValue ?? []).compactMap { $0["orderId"]?.stringValue }
    }

    @Test func pendingCaliforniaOrdersByAmountDescending() throws {
        try withSeededModel { (model, _) throws in
            let result = try model.query("ordersByStatus", params: [
                "status": "payment_pending", "userState": "California", "order": "amountDesc",
            ])
            // o3 and o5 are both 7500: ties go by orderId, reversed with the amount.
            #expect(ids(result) == ["o5", "o3", "o1", "o8"])
            #expect(result["nextOffset"] == .null)
            #expect(result["orders"]?.arrayValue?.first == [
                "orderId": "o5", "userId": "u2", "userState": "California", "status": "payment_pending",
                "amountCents": 7500, "description": "green running shorts",
                "createdAt": .int(OrdersEventLog.time(at: 9)), "updatedAt": .int(OrdersEventLog.time(at: 9)),
            ])
            // amountDesc is the default order.
            #expect(try model.query("ordersByStatus", params: ["status": "payment_pending", "userState": "California"]) == result)
            let ascending = try model.query("ordersByStatus", params: [
                "status": "payment_pending", "userState": "California", "order": "amountAsc",
            ])
            #expect(ids(ascending) == ["o8", "o1", "o3", "o5"])
        }
    }

    @Test func otherStatusesAndStates() throws {
        try withSeededModel { (model, _) throws in
            #expect(try ids(model.query("ordersByStatus", params: ["status": "paid"])) == ["o2"])
            #expect(try ids(model.query("ordersByStatus", params: ["status": "shipped", "userState": "Texas"])) == ["o6"])
            #expect(try ids(model.query("ordersByStatus", params: ["status": "shipped", "userState": "California"])) == [])
            #expect(try ids(model.query("ordersByStatus", params: ["status": "cancelled"])) == ["o7"])
            #expect(try ids(model.query("ordersByStatus", params: ["status": "payment_pending", "userState": "Nowhere"])) == [])
        }
    }

    @Test func pagingFollowsNextOffset() throws {
        try withSeededModel { (model, _) throws in
            var pages: [[String]] = []
            var offsets: [JSONValue] = []
            var offset: Int64 = 0
            while true {
                let page = try model.query("ordersByStatus", params: [
                    "status": "payment_pending", "order": "amountAsc", "limit": 2, "offset": .int(offset),
                ])
                pages.append(ids(page))
                offsets.append(page["nextOffset"] ?? .null)
                guard let next = page["nextOffset"]?.intValue else { break }
                offset = next
            }
            #expect(pages == [["o8", "o1"], ["o3", "o5"], ["o4"]])
            #expect(offsets == [2, 4, nil])
            // A page that ends exactly on the last row has no next page.
            let exact = try model.query("ordersByStatus", params: ["status": "payment_pending", "limit": 5])
            #expect(ids(exact).count == 5)
            #expect(exact["nextOffset"] == .null)
            let past = try model.query("ordersByStatus", params: ["status": "payment_pending", "offset": 50])
            #expect(past == ["orders": [], "nextOffset": nil])
        }
    }

    @Test func addressChangeMovesTheUsersOrders() throws {
        try withSeededModel { (model, log) throws in
            let start = log.position
            log.move("u2", from: "California", to: "Texas")
            try Support.apply(Array(log.events[Int(start)...]), to: model)
            #expect(try ids(model.query("ordersByStatus", params: ["status": "payment_pending", "userState": "California"]))
                == ["o1", "o8"])
            #expect(try ids(model.query("ordersByStatus", params: ["status": "payment_pending", "userState": "Texas"]))
                == ["o4", "o5", "o3"])
            let o3 = try model.query("order", params: ["orderId": "o3"])
            #expect(o3["userState"] == "Texas")
            // Moving is not an order event: the order's own times stay.
            #expect(o3["updatedAt"] == .int(OrdersEventLog.time(at: 7)))
            // A later order of the moved user gets the new state.
            log.place("o9", user: "u2", amountCents: 1, "pencil")
            try Support.apply([log.events.last!], to: model)
            #expect(try model.query("order", params: ["orderId": "o9"])["userState"] == "Texas")
        }
    }

    @Test func orderBeforeItsUserGetsTheStateWhenTheUserArrives() throws {
        try Support.withModel(OrdersProjection.init(directory:)) { (model, _) throws in
            var log = OrdersEventLog()
            log.place("o1", user: "ghost", amountCents: 500, "mystery box")
            try Support.apply(log.events, to: model)
            #expect(try model.query("order", params: ["orderId": "o1"])["userState"] == .null)
            log.register("ghost", state: "Oregon")
            try Support.apply([log.events.last!], to: model)
            #expect(try model.query("order", params: ["orderId": "o1"])["userState"] == "Oregon")
        }
    }

    @Test func orderByIdOrNull() throws {
        try withSeededModel { (model, _) throws in
            #expect(try model.query("order", params: ["orderId": "o2"]) == [
                "orderId": "o2", "userId": "u1", "userState": "California", "status": "paid",
                "amountCents": 12000, "description": "blue rain jacket",
                "createdAt": .int(OrdersEventLog.time(at: 6)), "updatedAt": .int(OrdersEventLog.time(at: 13)),
            ])
            #expect(try model.query("order", params: ["orderId": "o404"]) == .null)
        }
    }

    @Test func countByStatusHasEveryStatus() throws {
        try withSeededModel { (model, _) throws in
            #expect(try model.query("countByStatus", params: [:]) == [
                "payment_pending": 5, "paid": 1, "shipped": 1, "cancelled": 1,
            ])
            #expect(try model.query("countByStatus", params: nil) == model.query("countByStatus", params: [:]))
            #expect(try model.query("countByStatus", params: ["userState": "California"]) == [
                "payment_pending": 4, "paid": 1, "shipped": 0, "cancelled": 0,
            ])
        }
        try Support.withModel(OrdersProjection.init(directory:)) { (model, _) throws in
            #expect(try model.query("countByStatus", params: [:]) == [
                "payment_pending": 0, "paid": 0, "shipped": 0, "cancelled": 0,
            ])
        }
    }

    @Test func ordersByUserInCreationOrder() throws {
        try withSeededModel { (model, _) throws in
            let all = try model.query("ordersByUser", params: ["userId": "u1"])
            #expect(ids(all) == ["o1", "o2", "o8"])
            #expect(all["nextOffset"] == .null)
            let first = try model.query("ordersByUser", params: ["userId": "u1", "limit": 2])
            #expect(ids(first) == ["o1", "o2"])
            #expect(first["nextOffset"] == 2)
            #expect(try ids(model.query("ordersByUser", params: ["userId": "u1", "limit": 2, "offset": 2])) == ["o8"])
            #expect(try model.query("ordersByUser", params: ["userId": "nobody"]) == ["orders": [], "nextOffset": nil])
        }
    }

    @Test(arguments: [
        ("order", [:] as JSONValue, "params.orderId is missing"),
        ("order", ["orderId": 7], "params.orderId must be a string, got an integer"),
        ("order", [1, 2], "params must be an object, got an array"),
        ("ordersByStatus", [:], "params.status is missing"),
        ("ordersByStatus", ["status": "shipping"],
         "params.status must be one of payment_pending, paid, shipped, cancelled, got 'shipping'"),
        ("ordersByStatus", ["status": "paid", "order": "cheapest"],
         "params.order must be one of amountDesc, amountAsc, got 'cheapest'"),
        ("ordersByStatus", ["status": "paid", "userState": 5], "params.userState must be a string, got an integer"),
        ("ordersByStatus", ["status": "paid", "userState": ""], "params.userState is empty"),
        ("ordersByStatus", ["status": "paid", "limit": 0], "params.limit must be greater than 0, got 0"),
        ("ordersByStatus", ["status": "paid", "limit": 1001], "params.limit must be at most 1000, got 1001"),
        ("ordersByStatus", ["status": "paid", "limit": "10"], "params.limit must be an integer, got a string"),
        ("ordersByStatus", ["status": "paid", "limit": 2.5], "params.limit must be an integer, got a number (2.5)"),
        ("ordersByStatus", ["status": "paid", "offset": -1], "params.offset must be greater than -1, got -1"),
        ("ordersByStatus", ["status": "paid", "offset": 100_001], "params.offset must be at most 100000, got 100001"),
        ("ordersByUser", ["userId": "u 1"],
         "params.userId contains ' ' (U+0020), which is not allowed in an id (allowed: A-Z a-z 0-9 . _ : -)"),
        ("countByStatus", ["userState": nil], "params.userState must be a string, got null"),
    ] as [(String, JSONValue, String)])
    func invalidParams(query: String, params: JSONValue, message: String) throws {
        try Support.withModel(OrdersProjection.init(directory:)) { (model, _) throws in
            #expect(wireError { try model.query(query, params: params) } == WireError(.invalidArgument, message))
        }
    }

    @Test func unknownQuery() throws {
        try Support.withModel(OrdersProjection.init(directory:)) { (model, _) throws in
            #expect(wireError { try model.query("ordersByColour", params: [:] ) } == WireError(
                .unknownQuery,
                "unknown query 'ordersByColour' (orders answers: order, ordersByStatus, ordersByUser, countByStatus)"))
            #expect(model.queryNames == ["order", "ordersByStatus", "ordersByUser", "countByStatus"])
            #expect(model.category == nil)
        }
    }

    @Test func checkpointAndRowsPersistAcrossReopen() throws {
        try Support.withModel(OrdersProjection.init(directory:)) { (model, directory) throws in
            #expect(try model.checkpoint() == 0)
            let log = OrdersEventLog.seed()
            try Support.apply(log.events, to: model, batchSizes: [4])
            // The checkpoint may move past the last event (a filtered feed scanned further).
            try model.apply([], through: 20)
            #expect(try model.checkpoint() == 20)
            let digest = try model.digest()
            let reopened = try OrdersProjection(directory: directory)
            #expect(try reopened.checkpoint() == 20)
            #expect(try reopened.digest() == digest)
            #expect(try reopened.query("countByStatus", params: [:])["payment_pending"] == 5)
        }
    }

    @Test func batchSplitsGiveTheSameDigest() throws {
        let log = OrdersEventLog.seed()
        var digests: Set<String> = []
        for sizes in [[1], [3, 7, 2], [100], [16], [2, 1]] {
            try Support.withModel(OrdersProjection.init(directory:)) { (model, _) throws in
                try Support.apply(log.events, to: model, batchSizes: sizes)
                #expect(try model.checkpoint() == 16)
                digests.insert(try model.digest())
            }
        }
        #expect(digests.count == 1)
        // And the digest sees a difference of one event.
        try Support.withModel(OrdersProjection.init(directory:)) { (model, _) throws in
            try Support.apply(Array(log.events.dropLast()), to: model)
            #expect(!digests.contains(try model.digest()))
        }
    }

    /// `countByStatus` reads `status_counts`, not the orders: counts that drifted from the orders
    /// (a trigger missed after a crash, say) must change the digest, or "rebuild equals live"
    /// could not see it. A row counting zero answers like no row, so it must not.
    @Test func digestSeesDriftedCounts() throws {
        try withSeededModel { (model, _) throws in
            let digest = try model.digest()
            try executeSQL("INSERT INTO status_counts VALUES ('shipped', 'Nowhere', 0)", inDatabaseAt: model.model.path)
            #expect(try model.digest() == digest)
            try executeSQL("UPDATE status_counts SET n = n + 1 WHERE status = 'payment_pending' AND user_state = 'California'",
                           inDatabaseAt: model.model.path)
            #expect(try model.query("countByStatus", params: [:])["payment_pending"] == 6)
            #expect(try model.digest() != digest)
        }
    }

    @Test func resetEmptiesModelAndCheckpoint() throws {
        try Support.withModel(OrdersProjection.init(directory:)) { (model, directory) throws in
            let empty = try model.digest()
            try Support.apply(OrdersEventLog.seed().events, to: model)
            #expect(try model.digest() != empty)
            try model.reset()
            #expect(try model.checkpoint() == 0)
            #expect(try model.digest() == empty)
            #expect(try model.query("ordersByStatus", params: ["status": "paid"]) == ["orders": [], "nextOffset": nil])
            // Rebuilt from the log it equals a fresh build.
            try Support.apply(OrdersEventLog.seed().events, to: model, batchSizes: [2])
            let rebuilt = try model.digest()
            let fresh = try OrdersProjection(directory: directory + "/fresh")
            try Support.apply(OrdersEventLog.seed().events, to: fresh, batchSizes: [9])
            #expect(try fresh.digest() == rebuilt)
        }
    }

    @Test func unknownAndMalformedEventsAreSkipped() throws {
        try Support.withModel(OrdersProjection.init(directory:)) { (model, _) throws in
            var log = OrdersEventLog()
            log.register("u1", state: "Ohio")
            log.append(stream: "note-1", type: "NoteAdded", data: ["text": "hello"])
            log.append(stream: "order-bad", type: "OrderCreated", data: ["orderId": "bad", "userId": "u1", "amountCents": "lots"])
            log.append(stream: "order-bad2", type: "OrderCreated", data: [1, 2])
            log.place("o1", user: "u1", amountCents: 10, "ok")
            try Support.apply(log.events, to: model)
            #expect(try model.checkpoint() == 5)
            #expect(try model.query("countByStatus", params: [:])["payment_pending"] == 1)
            #expect(try model.query("order", params: ["orderId": "bad"]) == .null)
        }
    }

    /// The hand-built events carry byte for byte the data the write side writes.
    @Test func eventLogMatchesTheDomainEncoding() {
        var log = OrdersEventLog()
        log.register("u1", name: "Ada", state: "Ohio")
        log.move("u1", from: "Ohio", to: "Utah")
        log.place("o1", user: "u1", amountCents: 4999, "red \"running\" shoes")
        log.pay("o1", user: "u1")
        log.ship("o1", user: "u1")
        log.cancel("o1", user: "u1", reason: "late")
        let domain: [OrdersEvent] = [
            .userRegistered(userId: "u1", name: "Ada", state: "Ohio"),
            .userAddressChanged(userId: "u1", state: "Utah", previousState: "Ohio"),
            .orderCreated(orderId: "o1", userId: "u1", amountCents: 4999, description: "red \"running\" shoes"),
            .paymentConfirmed(orderId: "o1", userId: "u1"),
            .orderShipped(orderId: "o1", userId: "u1"),
            .orderCancelled(orderId: "o1", userId: "u1", reason: "late"),
        ]
        #expect(log.events.map(\.type) == domain.map(\.type))
        #expect(log.events.map(\.data) == domain.map(\.data))
    }
}

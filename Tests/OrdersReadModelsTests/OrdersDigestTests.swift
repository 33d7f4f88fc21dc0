import OrdersReadModels
import ProjectionRuntime
import WireProtocol
import Testing

/// The orders model's digest and answers are the same function of the events across layouts:
/// the answers were computed by the layout that kept each user's state in every order row
/// (before layout 2), and layout 2 must give them too. The digests were recomputed when they came
/// to cover `status_counts` too (whose counts the `countByStatus` answers check).
struct OrdersDigestTests {
    /// The seed, plus the corners of user state: orders before their user, an address change of
    /// an unknown user, moves back and forth, a repeated creation and payments of unknown orders.
    static func cornerLog() -> OrdersEventLog {
        var log = OrdersEventLog.seed()
        log.place("o9", user: "u9", amountCents: 500, "before its user")
        log.pay("o9", user: "u9")
        log.move("u9", from: "?", to: "Ohio")
        log.place("o10", user: "u9", amountCents: 700, "after the move")
        log.register("u9", name: "Late", state: "Utah")
        log.place("o11", user: "u10", amountCents: 900, "user never known")
        log.move("u1", from: "California", to: "Texas")
        log.move("u1", from: "Texas", to: "California")
        log.move("u3", from: "Texas", to: "Texas")
        log.place("o1", user: "u4", amountCents: 1, "a repeated creation is ignored")
        log.pay("o404", user: "u1")
        log.ship("o2", user: "u1")
        log.cancel("o10", user: "u9")
        log.move("u2", from: "California", to: "Oregon")
        return log
    }

    static func digest(_ log: OrdersEventLog, batchSizes: [Int] = [5]) throws -> String {
        var digest = ""
        try OrdersTestSupport.withModel(OrdersProjection.init(directory:)) { model, _ in
            try OrdersTestSupport.apply(log.events, to: model, batchSizes: batchSizes)
            digest = try model.digest()
        }
        return digest
    }

    /// Every query over the corner log, answers in one string.
    static let queries: [(String, JSONValue)] = [
        ("order", ["orderId": "o9"]), ("order", ["orderId": "o11"]), ("order", ["orderId": "o1"]),
        ("ordersByStatus", ["status": "payment_pending"]), ("ordersByStatus", ["status": "paid", "order": "amountAsc"]),
        ("ordersByStatus", ["status": "payment_pending", "userState": "California"]),
        ("ordersByStatus", ["status": "paid", "userState": "Utah"]), ("ordersByStatus", ["status": "cancelled", "userState": "Utah"]),
        ("ordersByStatus", ["status": "payment_pending", "limit": 2, "offset": 1]),
        ("ordersByUser", ["userId": "u9"]), ("ordersByUser", ["userId": "u1", "limit": 2]), ("ordersByUser", ["userId": "u10"]),
        ("countByStatus", [:]), ("countByStatus", ["userState": "California"]), ("countByStatus", ["userState": "Utah"]),
        ("countByStatus", ["userState": "Ohio"]), ("countByStatus", ["userState": "Oregon"]),
    ]

    @Test func cornerLogAnswers() throws {
        try OrdersTestSupport.withModel(OrdersProjection.init(directory:)) { model, _ in
            try OrdersTestSupport.apply(Self.cornerLog().events, to: model)
            var digest = Digest()
            for (name, params) in Self.queries { digest.add(try model.query(name, params: .object(params.objectValue ?? [:])).jsonString) }
            #expect(digest.hex == "a4e0e48ad448d069")
        }
    }

    @Test func cornerLogDigest() throws {
        let digest = try Self.digest(Self.cornerLog())
        #expect(digest == "77d589673fc977ab")
    }

    @Test func benchmarkShapedLogDigest() throws {
        let log = OrdersEventLog.benchProjectors(events: 30_000)
        let digest = try Self.digest(log, batchSizes: [1000])
        #expect(digest == "bc49226629e388ca")
    }
}

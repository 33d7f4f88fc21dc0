import Foundation
import TestSupport
import Testing
import WireProtocol

/// The seed's scenario through all five processes, and read-your-writes on every projector.
@Suite(.serialized) struct ProjectorScenarioTests {
    @Test func seedScenarioEndToEnd() throws {
        let system = try SystemHarness()
        defer { system.close() }
        try system.send("RegisterUser", ["userId": "ada", "name": "Ada", "state": "California"])
        try system.send("RegisterUser", ["userId": "bob", "name": "Bob", "state": "Oregon"])
        try system.send("RegisterUser", ["userId": "cy", "name": "Cy", "state": "California"])
        let orders: [(String, String, Int64, String)] = [
            ("o-1", "ada", 4999, "red running shoes"), ("o-2", "ada", 12000, "blue rain jacket"),
            ("o-3", "bob", 8000, "red wool hat"), ("o-4", "cy", 30000, "trail running shoes"),
            ("o-5", "cy", 1500, "socks"), ("o-6", "ada", 7000, "running shorts"),
        ]
        for (order, user, amount, description) in orders {
            try system.send("PlaceOrder", ["orderId": .string(order), "userId": .string(user),
                                           "amountCents": .int(amount), "description": .string(description)])
        }
        try system.send("ConfirmPayment", ["orderId": "o-2"])
        try system.send("ConfirmPayment", ["orderId": "o-6"])
        let last = try system.send("ShipOrder", ["orderId": "o-6"])

        let pending = try system.query("orders", "ordersByStatus",
            ["status": "payment_pending", "userState": "California", "order": "amountDesc"], minPosition: last)
        let pendingIDs = pending["result"]?["orders"]?.arrayValue?.compactMap { $0["orderId"]?.stringValue }
        #expect(pendingIDs == ["o-4", "o-1", "o-5"])
        #expect(pending["result"]?["orders"]?.arrayValue?.first?["userState"] == "California")

        let counts = try system.query("orders", "countByStatus", [:], minPosition: last)
        #expect(counts["result"] == ["payment_pending": 4, "paid": 1, "shipped": 1, "cancelled": 0])

        let hits = try system.query("search", "search", ["text": "running shoes"], minPosition: last)
        let hitIDs = Set(hits["result"]?["hits"]?.arrayValue?.compactMap { $0["orderId"]?.stringValue } ?? [])
        #expect(hitIDs == ["o-1", "o-4"])

        let status = try system.query("status", "orderStatus", ["orderId": "o-6"], minPosition: last)
        #expect(status["result"]?["status"] == "shipped")
        let adaOrders = try system.query("status", "userOrders", ["userId": "ada"], minPosition: last)
        #expect(adaOrders["result"]?["orders"]?.arrayValue?.compactMap { $0["orderId"]?.stringValue } == ["o-1", "o-2", "o-6"])

        let month = Self.currentMonth()
        let history = try system.query("history", "monthly", ["userId": "ada", "from": .string(month), "to": .string(month)], minPosition: last)
        let bucket = history["result"]?["months"]?.arrayValue?.first
        #expect(bucket?["count"] == 3)
        #expect(bucket?["totalCents"] == .int(4999 + 12000 + 7000))

        // Ada moves: her orders follow her in the relational model.
        let moved = try system.send("ChangeUserAddress", ["userId": "ada", "state": "Nevada"])
        let californian = try system.query("orders", "ordersByStatus",
            ["status": "payment_pending", "userState": "California"], minPosition: moved)
        #expect(californian["result"]?["orders"]?.arrayValue?.compactMap { $0["orderId"]?.stringValue }.sorted() == ["o-4", "o-5"])
        let nevada = try system.query("orders", "ordersByUser", ["userId": "ada"], minPosition: moved)
        #expect(nevada["result"]?["orders"]?.arrayValue?.allSatisfy { $0["userState"] == "Nevada" } == true)
        #expect(try system.query("orders", "countByStatus", ["userState": "Nevada"], minPosition: moved)["result"]
                == ["payment_pending": 1, "paid": 1, "shipped": 1, "cancelled": 0])
        #expect(try system.query("orders", "countByStatus", ["userState": "California"], minPosition: moved)["result"]
                == ["payment_pending": 2, "paid": 0, "shipped": 0, "cancelled": 0])

        // Every projector answers stats with lag figures and stops cleanly.
        for name in SystemHarness.allProjectors {
            let stats = try system.query(name, "stats")
            #expect(stats["result"]?["applied"]?.intValue ?? 0 >= last - 1, "\(name)")
            #expect(stats["result"]?["lagUs"]?["count"]?.intValue ?? 0 > 0, "\(name)")
        }
        for (name, status) in system.close() { #expect(status == 0, "\(name) exit status") }
    }

    static func currentMonth() -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month], from: Date())
        return String(format: "%04d-%02d", parts.year!, parts.month!)
    }

    @Test func readYourWritesOnEveryProjector() throws {
        let system = try SystemHarness()
        defer { system.close() }
        try system.send("RegisterUser", ["userId": "u", "name": "U", "state": "Texas"])
        for index in 0..<100 {
            let order = "ryw-\(index)"
            let position = try system.send("PlaceOrder", ["orderId": .string(order), "userId": "u",
                                                          "amountCents": .int(Int64(100 + index)), "description": .string("lamp number \(index)")])
            let row = try system.query("orders", "order", ["orderId": .string(order)], minPosition: position)
            #expect(row["result"]?["orderId"] == .string(order), "orders, \(index)")
            let status = try system.query("status", "orderStatus", ["orderId": .string(order)], minPosition: position)
            #expect(status["result"]?["status"] == "payment_pending", "status, \(index)")
            let hits = try system.query("search", "search", ["text": .string("number \(index)")], minPosition: position)
            #expect(hits["result"]?["hits"]?.arrayValue?.contains { $0["orderId"] == .string(order) } == true, "search, \(index)")
            let month = Self.currentMonth()
            let history = try system.query("history", "monthly", ["userId": "u", "from": .string(month), "to": .string(month)], minPosition: position)
            #expect(history["result"]?["months"]?.arrayValue?.first?["count"] == .int(Int64(index + 1)), "history, \(index)")
        }
        // A user event is in another category: the filtered projectors still reach its position.
        let moved = try system.send("ChangeUserAddress", ["userId": "u", "state": "Maine"])
        for name in ["search", "status", "history"] {
            #expect(try system.query(name, "health", minPosition: moved)["ok"] == true, "\(name)")
        }
    }

    @Test func queryForAFuturePositionIsStale() throws {
        let system = try SystemHarness(projectors: ["status"])
        defer { system.close() }
        let reply = try system.queryClients["status"]!.query("health", minPosition: 1_000, waitMs: 300)
        #expect(reply["error"]?["code"] == "Stale")
        #expect(reply["error"]?["message"]?.stringValue?.contains("not yet 1000") == true)
    }
}

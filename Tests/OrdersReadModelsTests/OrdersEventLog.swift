import EventStore
import Foundation
import ProjectionRuntime
import TestSupport
import WireProtocol

/// Builds an orders-domain event log by hand: consecutive positions from 1, per-stream
/// versions, and recorded times one millisecond apart (or as given).
struct OrdersEventLog {
    static let startTime: Int64 = 1_700_000_000_000_000_000

    private(set) var events: [RecordedEvent] = []
    private var versions: [String: Int64] = [:]

    var position: Int64 { Int64(events.count) }

    /// The recorded time the event at `position` gets when none is given.
    static func time(at position: Int64) -> Int64 { startTime + position * 1_000_000 }

    @discardableResult
    mutating func append(stream: String, type: String, data: JSONValue, at recordedAt: Int64? = nil) -> RecordedEvent {
        append(stream: stream, type: type, bytes: data.jsonBytes, at: recordedAt)
    }

    /// Appends an event whose data is given as bytes, e.g. malformed JSON.
    @discardableResult
    mutating func append(stream: String, type: String, bytes: [UInt8], at recordedAt: Int64? = nil) -> RecordedEvent {
        let position = Int64(events.count) + 1
        let version = versions[stream, default: -1] + 1
        versions[stream] = version
        let event = RecordedEvent(
            id: UUID(), position: position, stream: stream, version: version, type: type,
            data: bytes, metadata: nil, recordedAt: recordedAt ?? Self.time(at: position))
        events.append(event)
        return event
    }

    mutating func register(_ userId: String, name: String = "Name", state: String) {
        append(stream: "user-\(userId)", type: "UserRegistered",
               data: ["userId": .string(userId), "name": .string(name), "state": .string(state)])
    }

    mutating func move(_ userId: String, from previousState: String, to state: String) {
        append(stream: "user-\(userId)", type: "UserAddressChanged",
               data: ["userId": .string(userId), "state": .string(state), "previousState": .string(previousState)])
    }

    mutating func place(_ orderId: String, user userId: String, amountCents: Int64, _ description: String) {
        append(stream: "order-\(orderId)", type: "OrderCreated", data: [
            "orderId": .string(orderId), "userId": .string(userId), "amountCents": .int(amountCents),
            "description": .string(description), "status": "payment_pending",
        ])
    }

    mutating func pay(_ orderId: String, user userId: String) {
        append(stream: "order-\(orderId)", type: "PaymentConfirmed",
               data: ["orderId": .string(orderId), "userId": .string(userId), "status": "paid"])
    }

    mutating func ship(_ orderId: String, user userId: String) {
        append(stream: "order-\(orderId)", type: "OrderShipped",
               data: ["orderId": .string(orderId), "userId": .string(userId), "status": "shipped"])
    }

    mutating func cancel(_ orderId: String, user userId: String, reason: String = "changed my mind") {
        append(stream: "order-\(orderId)", type: "OrderCancelled", data: [
            "orderId": .string(orderId), "userId": .string(userId), "reason": .string(reason), "status": "cancelled",
        ])
    }

    /// The same mix as `scripts/bench-projectors`' `populate`, in its order: 10,000 users; orders
    /// created, half paid, most of those shipped; then address changes.
    static func benchProjectors(events: Int) -> OrdersEventLog {
        var log = OrdersEventLog()
        let users = 10_000
        let words = ["red", "blue", "green", "running", "shoes", "jacket", "hat", "wool", "rain", "trail", "lamp", "socks"]
        for user in 0..<users { log.register("u\(user)", name: "User \(user)", state: "S\(user % 50)") }
        let orders = max(1, (events - users) / 2)
        for order in 0..<orders {
            let description = (0..<4).map { words[(order * 7 + $0) % words.count] }.joined(separator: " ")
            log.place("o-1-\(order)", user: "u\(order % users)", amountCents: Int64(100 + order % 10_000), description)
        }
        let paid = orders / 2
        for order in 0..<paid { log.pay("o-1-\(order)", user: "u\(order % users)") }
        let remaining = max(0, events - users - orders - paid)
        let shipped = min(paid, remaining * 3 / 4)
        for order in 0..<shipped { log.ship("o-1-\(order)", user: "u\(order % users)") }
        for move in 0..<max(0, remaining - shipped) {
            log.move("u\(move % users)", from: "S\(move % 50)", to: "S\((move + 1) % 50)")
        }
        return log
    }

    /// The seed scenario: users in California and elsewhere, orders of various amounts, some
    /// paid, some shipped, one cancelled.
    ///
    /// | order | user (state) | amount | status |
    /// |---|---|---|---|
    /// | o1 | u1 (California) | 4999 | payment_pending |
    /// | o2 | u1 (California) | 12000 | paid |
    /// | o3 | u2 (California) | 7500 | payment_pending |
    /// | o4 | u3 (Texas) | 9900 | payment_pending |
    /// | o5 | u2 (California) | 7500 | payment_pending |
    /// | o6 | u3 (Texas) | 2500 | shipped |
    /// | o7 | u4 (New York) | 30000 | cancelled |
    /// | o8 | u1 (California) | 100 | payment_pending |
    static func seed() -> OrdersEventLog {
        var log = OrdersEventLog()
        log.register("u1", name: "Ada", state: "California")
        log.register("u2", name: "Grace", state: "California")
        log.register("u3", name: "Linus", state: "Texas")
        log.register("u4", name: "Barbara", state: "New York")
        log.place("o1", user: "u1", amountCents: 4999, "red running shoes")
        log.place("o2", user: "u1", amountCents: 12000, "blue rain jacket")
        log.place("o3", user: "u2", amountCents: 7500, "red wool socks, pack of three")
        log.place("o4", user: "u3", amountCents: 9900, "hiking boots")
        log.place("o5", user: "u2", amountCents: 7500, "green running shorts")
        log.place("o6", user: "u3", amountCents: 2500, "water bottle")
        log.place("o7", user: "u4", amountCents: 30000, "tent for four")
        log.place("o8", user: "u1", amountCents: 100, "sticker")
        log.pay("o2", user: "u1")
        log.pay("o6", user: "u3")
        log.ship("o6", user: "u3")
        log.cancel("o7", user: "u4")
        return log
    }
}

/// Applying, scoping and error-catching helpers shared by the orders and search read-model tests.
enum OrdersTestSupport {
    /// Applies `events` in batches of the given sizes (the last size repeats), as the runtime would:
    /// a projection with a category sees only that category's events, with the checkpoint still
    /// moving to each batch's last position.
    static func apply(_ events: [RecordedEvent], to projection: any Projection, batchSizes: [Int] = [5]) throws {
        var start = 0
        var index = 0
        while start < events.count {
            let size = max(1, batchSizes[min(index, batchSizes.count - 1)])
            let batch = events[start..<min(start + size, events.count)]
            let delivered = batch.filter { projection.category == nil || $0.category == projection.category }
            try projection.apply(delivered, through: batch.last!.position)
            start += size
            index += 1
        }
    }

    /// Runs `body` with a fresh projection in its own temporary directory, removed afterwards.
    static func withModel<P: Projection>(
        _ make: (String) throws -> P, _ body: (P, String) throws -> Void
    ) throws {
        try withTemporaryDirectory("prism-read-model") { directory in
            try body(make(directory), directory)
        }
    }
}

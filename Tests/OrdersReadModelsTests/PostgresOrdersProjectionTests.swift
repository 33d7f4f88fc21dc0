import EventStore
import Foundation
import OrdersReadModels
import ProjectionRuntime
import TestSupport
import Testing
import WireProtocol

/// The PostgreSQL orders model against a real server (`scripts/store-server postgres`): built
/// from the same events as the embedded model, it gives the same answers, errors and digest.
@Suite struct PostgresOrdersProjectionTests {
    typealias Support = OrdersTestSupport

    static func model(_ server: PostgresServer, generation: Int = 1) throws -> PostgresOrdersProjection {
        try PostgresOrdersProjection(
            settings: StoreSettings(kind: .postgres, postgresURL: server.url()), directory: "/unused/generation-\(generation)")
    }

    /// The corner log plus malformed and unknown events, both models skip alike.
    static func events() -> [RecordedEvent] {
        var log = OrdersDigestTests.cornerLog()
        log.append(stream: "note-1", type: "NoteAdded", data: ["text": "hello"])
        log.append(stream: "order-bad", type: "OrderCreated", data: ["orderId": "bad", "userId": "u1", "amountCents": "lots", "description": "d"])
        log.append(stream: "order-bad2", type: "OrderCreated", data: [1, 2])
        log.append(stream: "order-bad3", type: "OrderCreated", data: ["orderId": "bad3", "userId": "u1", "amountCents": 2.5, "description": "d"])
        log.append(stream: "order-bad4", type: "OrderCreated", data: ["orderId": "bad4", "userId": "u1", "amountCents": 5])
        log.append(stream: "user-u7", type: "UserRegistered", data: ["userId": "u7", "state": "Ohio"])
        log.append(stream: "user-u8", type: "UserAddressChanged", data: ["userId": "u8", "state": 5])
        log.append(stream: "order-o3", type: "PaymentConfirmed", data: ["orderId": 3])
        log.append(stream: "order-o4", type: "OrderShipped", data: "not an object")
        log.register("u7", name: "Ünïcödé 🎉", state: "Ohio")
        log.place("o12", user: "u7", amountCents: 1200, "quotes \" and \\ backslash, tab\tand ünïcödé 🎉")
        log.append(stream: "order-o12", type: "PaymentConfirmed", data: ["orderId": "o12", "status": "shipped", "extra": ["nested": [1, 2]]])
        // Bytes that are not JSON at all, and a repeated key (the parser refuses both).
        log.append(stream: "order-o5", type: "OrderCancelled", data: ["orderId": "o5"])
        log.append(stream: "order-o1", type: "OrderShipped", data: ["orderId": "o1"])
        for index in 0..<120 { log.place("p\(index)", user: "u\(index % 7)", amountCents: Int64(index % 9) * 100, "page \(index)") }
        var events = log.events
        events[events.firstIndex { $0.stream == "order-o5" }!].data = Array(#"{"orderId":"o5""#.utf8)
        events[events.lastIndex { $0.stream == "order-o1" }!].data = Array(#"{"orderId":"o1","orderId":"o3"}"#.utf8)
        return events
    }

    /// The digest tests' queries, pages through the 120 extra orders, and each invalid parameter.
    static let queries: [(String, JSONValue)] = OrdersDigestTests.queries + [
        ("order", ["orderId": "o12"]), ("order", ["orderId": "bad"]), ("order", ["orderId": "bad3"]), ("order", ["orderId": "nope"]),
        ("ordersByStatus", ["status": "payment_pending", "limit": 7, "offset": 0]),
        ("ordersByStatus", ["status": "payment_pending", "limit": 7, "offset": 7, "order": "amountAsc"]),
        ("ordersByStatus", ["status": "payment_pending", "limit": 1000]),
        ("ordersByStatus", ["status": "payment_pending", "limit": 3, "offset": 99_999]),
        ("ordersByStatus", ["status": "shipped", "userState": "California"]),
        ("ordersByUser", ["userId": "u1", "limit": 5, "offset": 5]), ("ordersByUser", ["userId": "u7"]), ("ordersByUser", ["userId": "u3", "limit": 1000]),
        ("countByStatus", ["userState": ""]), ("countByStatus", ["userState": "Texas"]), ("countByStatus", .null),
        ("order", [:]), ("order", ["orderId": 7]), ("order", [1, 2]), ("ordersByStatus", ["status": "shipping"]),
        ("ordersByStatus", ["status": "paid", "order": "cheapest"]), ("ordersByStatus", ["status": "paid", "userState": 5]),
        ("ordersByStatus", ["status": "paid", "limit": 0]), ("ordersByStatus", ["status": "paid", "limit": 1001]),
        ("ordersByStatus", ["status": "paid", "offset": -1]), ("ordersByStatus", ["status": "paid", "offset": 100_001]),
        ("ordersByUser", ["userId": "u 1"]), ("countByStatus", ["userState": nil]), ("ordersByCity", [:]),
    ]

    /// The reply, or the error's code and message.
    static func answer(_ model: any Projection, _ name: String, _ params: JSONValue) -> String {
        do {
            return try model.query(name, params: params).jsonString
        } catch let error as WireError {
            return "\(error.code.rawValue): \(error.message)"
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func answersLikeTheEmbeddedModel() throws {
        let server = try PostgresServer()
        let events = Self.events()
        try Support.withModel(OrdersProjection.init(directory:)) { embedded, _ in
            let postgres = try Self.model(server)
            try Support.apply(events, to: embedded, batchSizes: [3, 1, 7])
            try Support.apply(events, to: postgres, batchSizes: [5, 2, 11])
            #expect(try postgres.checkpoint() == Int64(events.count))
            for (name, params) in Self.queries {
                let answer = Self.answer(embedded, name, params)
                #expect(!answer.hasPrefix("unexpected"))
                #expect(Self.answer(postgres, name, params) == answer, "\(name) \(params.jsonString)")
            }
            #expect(try postgres.digest() == embedded.digest(), "the same rows digest alike")

            // Once at the head (the status index built) the answers are still the same.
            try postgres.reachedHead()
            try embedded.reachedHead()
            for (name, params) in Self.queries {
                #expect(Self.answer(postgres, name, params) == Self.answer(embedded, name, params), "\(name) \(params.jsonString)")
            }

            server.stop()
            #expect(Self.answer(postgres, "countByStatus", [:]).hasPrefix("Unavailable: the read model's PostgreSQL is unavailable: "))
        }
    }

    @Test func aRebuildEqualsTheLiveModel() throws {
        let server = try PostgresServer()
        let events = OrdersEventLog.benchProjectors(events: 12_000).events + Self.events().map { event in
            var event = event
            event.position += 12_000
            return event
        }
        let live = try Self.model(server)
        try Support.apply(events, to: live, batchSizes: [1, 17, 250])
        let rebuilt = try Self.model(server, generation: 2)
        try Support.apply(events, to: rebuilt, batchSizes: [1000])
        try rebuilt.reachedHead()
        #expect(try rebuilt.digest() == live.digest())
        var embeddedDigest = ""
        try Support.withModel(OrdersProjection.init(directory:)) { embedded, _ in
            try Support.apply(events, to: embedded, batchSizes: [1000])
            embeddedDigest = try embedded.digest()
        }
        #expect(try live.digest() == embeddedDigest)

        try live.reset()
        #expect(try live.checkpoint() == 0)
        try Support.apply(events, to: live, batchSizes: [400])
        #expect(try live.digest() == embeddedDigest, "reset, then applied again")

        try live.close()
        try live.discard()
        #expect(try rebuilt.query("countByStatus", params: [:]) != [:], "the other generation is untouched")
    }
}

import Foundation
import JSON
import OrdersDomain
import PostgresNIO
import PostgresStore
import Testing
import TestSupport
import WireProtocol

/// `outbox-relay --mode cdc --mapping orders` against a real PostgreSQL (wal_level = logical) and
/// write node, killed at both crash points of an acknowledgement, with an id window of one
/// event so that only the deterministic ids and exact expected versions can recognize a retry.
@Suite(.serialized) struct CDCRelayTests {
    static let arguments = ["--mode", "cdc", "--tables", "public.users,public.orders", "--mapping", "orders", "--batch-size", "5"]

    /// The example app's tables (the `example` slice's schema, as docs/OUTBOX.md gives it).
    static let schema = [
        "CREATE TABLE users (user_id text PRIMARY KEY, name text NOT NULL, state text NOT NULL)",
        """
        CREATE TABLE orders (order_id text PRIMARY KEY, user_id text NOT NULL REFERENCES users, amount_cents bigint NOT NULL,
            description text NOT NULL, status text NOT NULL CHECK (status IN ('payment_pending', 'paid', 'shipped', 'cancelled')),
            cancel_reason text)
        """,
        "ALTER TABLE users REPLICA IDENTITY FULL",
        "ALTER TABLE orders REPLICA IDENTITY FULL",
    ]

    @Test func theOrdersMappingReachesTheLogOnceThroughCrashes() throws {
        let system = try RelaySystem(writeNodeArguments: ["--id-window-events", "1"], logicalDecoding: true)
        let app = system.application
        try app.transaction(Self.schema + [
            "INSERT INTO users VALUES ('u1', 'Ann', 'California'), ('u2', 'Bob', 'Texas')",
            "INSERT INTO orders VALUES ('o1', 'u1', 4999, 'red shoes', 'payment_pending', NULL)",
            "INSERT INTO orders VALUES ('o2', 'u1', 1500, 'blue hat', 'shipped', NULL)",
            "INSERT INTO orders VALUES ('o3', 'u2', 700, 'green scarf', 'cancelled', 'fraud')",
        ])

        // Killed after the write node stored the first snapshot batch, before the source knew.
        let afterAck = RelayProcess(system: system, arguments: Self.arguments, environment: ["PRISM_RELAY_CRASH_AFTER_ACK": "1"])
        try afterAck.launch()
        #expect(afterAck.waitForExit().map { $0 != 0 } == true, "the relay was to kill itself after its first acknowledgement")
        #expect(try !system.log().isEmpty)
        _ = system.writeNode.stop()
        try system.writeNode.start()

        // Streamed changes, and a relay killed after recording a streamed batch, before the slot's advance.
        try app.transaction(["UPDATE orders SET status = 'paid' WHERE order_id = 'o1'", "UPDATE users SET state = 'Nevada' WHERE user_id = 'u1'"])
        try app.transaction(["INSERT INTO orders VALUES ('o4', 'u2', 2500, 'black boots', 'payment_pending', NULL)"])
        let beforeAdvance = RelayProcess(system: system, arguments: Self.arguments, environment: ["PRISM_RELAY_CRASH_BEFORE_SLOT_ADVANCE": "1"])
        try beforeAdvance.launch()
        #expect(beforeAdvance.waitForExit().map { $0 != 0 } == true, "the relay was to kill itself before a slot advance")
        _ = system.writeNode.stop()
        try system.writeNode.start()

        // More changes, a relay killed after a streamed batch's acknowledgement, then one that stays.
        try app.transaction(["UPDATE orders SET status = 'paid' WHERE order_id = 'o4'"])
        try app.transaction(["UPDATE orders SET status = 'shipped' WHERE order_id = 'o4'"])
        try app.transaction(["UPDATE orders SET status = 'cancelled', cancel_reason = 'changed mind' WHERE order_id = 'o1'"])
        let streamedAfterAck = RelayProcess(system: system, arguments: Self.arguments, environment: ["PRISM_RELAY_CRASH_AFTER_ACK": "1"])
        try streamedAfterAck.launch()
        #expect(streamedAfterAck.waitForExit().map { $0 != 0 } == true)
        let relay = try system.startRelay(Self.arguments)

        let expected: [String: [String]] = [
            "user-u1": ["UserRegistered", "UserAddressChanged"],
            "user-u2": ["UserRegistered"],
            "order-o1": ["OrderCreated", "PaymentConfirmed", "OrderCancelled"],
            "order-o2": ["OrderCreated", "PaymentConfirmed", "OrderShipped"],
            "order-o3": ["OrderCreated", "OrderCancelled"],
            "order-o4": ["OrderCreated", "PaymentConfirmed", "OrderShipped"],
        ]
        let total = expected.values.map(\.count).reduce(0, +)
        var log: [RecordedEvent] = []
        let settled = try waitUntil(timeout: .seconds(60), interval: .milliseconds(50)) {
            log = try system.log()
            return log.count >= total
        }
        #expect(settled, "the log has \(log.count) events of \(total)")
        var streams: [String: [String]] = [:]
        for event in log.sorted(by: { $0.position < $1.position }) { streams[event.stream, default: []].append(event.type) }
        #expect(streams == expected)
        #expect(Set(log.map(\.id)).count == log.count)
        // Every event is the domain's, byte for byte decodable by the projectors' decoder.
        #expect(log.allSatisfy { OrdersEvent($0) != nil })
        #expect(OrdersEvent(log.last { $0.type == "UserAddressChanged" }!) == .userAddressChanged(userId: "u1", state: "Nevada", previousState: "California"))
        #expect(OrdersEvent(log.last { $0.type == "OrderCancelled" && $0.stream == "order-o1" }!)
            == .orderCancelled(orderId: "o1", userId: "u1", reason: "changed mind"))

        // health and stats carry the slot's WAL retention.
        let reported = waitUntil(timeout: .seconds(10), interval: .milliseconds(50)) {
            (try? relay.query("health"))?["result"]?["cdc"]?["walStatus"]?.stringValue == "reserved"
        }
        #expect(reported)
        let stats = try relay.query("stats")["result"]
        #expect(stats?["cdc"]?["retainedBytes"]?.intValue != nil && stats?["cdc"]?["maxSlotWalKeepSize"] == "-1")
        #expect(stats?["cdc"]?["tables"] == ["public.users", "public.orders"])
    }
}

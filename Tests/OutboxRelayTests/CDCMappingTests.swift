import JSON
import OrdersDomain
@testable import OutboxRelay
import Testing

/// The generic mapping's documented shape, and the orders mapping's domain events (decoded
/// with the domain's own decoder, so the data shapes are the projectors').
@Suite struct CDCMappingTests {
    static let origin = RowChange.Origin.wal(lsn: LSN("0/10")!, ordinal: 0, xid: 9, commitLSN: LSN("0/20")!)

    static func user(_ operation: RowChange.Operation, state: String?, old: String? = nil) -> RowChange {
        RowChange(
            table: TableName(table: "users"), operation: operation,
            row: state.map { ["user_id": "u1", "name": "Ann", "state": .string($0)] },
            old: old.map { ["user_id": "u1", "name": "Ann", "state": .string($0)] },
            keyColumns: ["user_id"], origin: origin)
    }

    static func order(_ operation: RowChange.Operation, status: String?, old: String? = nil, reason: JSONValue = .null) -> RowChange {
        func row(_ status: String) -> [String: JSONValue] {
            ["order_id": "o1", "user_id": "u1", "amount_cents": 4999, "description": "red shoes", "status": .string(status), "cancel_reason": reason]
        }
        return RowChange(table: TableName(table: "orders"), operation: operation, row: status.map(row), old: old.map(row),
                         keyColumns: ["order_id"], origin: operation == .read ? .snapshot(id: "5:9:7") : origin)
    }

    static func domain(_ events: [MappedEvent]) -> [OrdersEvent?] {
        events.map { OrdersEvent(type: $0.type, data: $0.data.jsonBytes) }
    }

    @Test func genericMapping() throws {
        let mapping = GenericMapping()
        let update = try mapping.events(for: Self.user(.update, state: "Texas", old: "California"))
        #expect(update == [MappedEvent(
            stream: "users-u1", type: "UsersUpdated", data: ["user_id": "u1", "name": "Ann", "state": "Texas"],
            metadata: ["table": "public.users", "op": "u", "lsn": "0/10", "xid": 9,
                       "old": ["user_id": "u1", "name": "Ann", "state": "California"]])])
        let delete = try mapping.events(for: Self.user(.delete, state: nil, old: "Texas"))
        #expect(delete.map(\.type) == ["UsersDeleted"] && delete[0].data["state"] == "Texas")
        let snapshot = try mapping.events(for: Self.order(.read, status: "paid"))
        #expect(snapshot.map(\.type) == ["OrdersSnapshotted"] && snapshot[0].stream == "orders-o1")
        #expect(snapshot[0].metadata == ["table": "public.orders", "op": "r", "snapshot": "5:9:7"])
        #expect(GenericMapping.typeName("order_items") == "OrderItems")
        // A composite key names the stream with its values joined; another schema keeps its name.
        let line = RowChange(table: TableName(schema: "sales", table: "lines"), operation: .insert, row: ["o": "o1", "n": 2],
                             old: nil, keyColumns: ["o", "n"], origin: Self.origin)
        #expect(try mapping.events(for: line)[0].stream == "sales.lines-o1-2")
        // No key, or a key that makes no stream name: a clear error.
        var keyless = line
        keyless.keyColumns = []
        #expect(throws: CDCError.self) { try mapping.events(for: keyless) }
        var spaced = line
        spaced.row = ["o": "o 1", "n": 2]
        #expect(throws: CDCError.self) { try mapping.events(for: spaced) }
    }

    @Test func ordersMappingUsers() throws {
        let mapping = OrdersMapping()
        #expect(Self.domain(try mapping.events(for: Self.user(.insert, state: "California"))) == [
            .userRegistered(userId: "u1", name: "Ann", state: "California")])
        let moved = try mapping.events(for: Self.user(.update, state: "Texas", old: "California"))
        #expect(moved.map(\.stream) == ["user-u1"])
        #expect(Self.domain(moved) == [.userAddressChanged(userId: "u1", state: "Texas", previousState: "California")])
        #expect(try mapping.events(for: Self.user(.update, state: "Texas", old: "Texas")).isEmpty)
        #expect(try mapping.events(for: Self.user(.delete, state: nil, old: "Texas")).isEmpty)
        // Without REPLICA IDENTITY FULL an update has no old row: said so.
        #expect(throws: CDCError.self) { try mapping.events(for: Self.user(.update, state: "Texas")) }
    }

    @Test func ordersMappingOrders() throws {
        let mapping = OrdersMapping()
        let created = OrdersEvent.orderCreated(orderId: "o1", userId: "u1", amountCents: 4999, description: "red shoes")
        #expect(Self.domain(try mapping.events(for: Self.order(.insert, status: "payment_pending"))) == [created])
        #expect(Self.domain(try mapping.events(for: Self.order(.update, status: "paid", old: "payment_pending"))) == [
            .paymentConfirmed(orderId: "o1", userId: "u1")])
        #expect(Self.domain(try mapping.events(for: Self.order(.update, status: "shipped", old: "paid"))) == [
            .orderShipped(orderId: "o1", userId: "u1")])
        #expect(Self.domain(try mapping.events(for: Self.order(.update, status: "cancelled", old: "paid", reason: "changed mind"))) == [
            .orderCancelled(orderId: "o1", userId: "u1", reason: "changed mind")])
        #expect(try mapping.events(for: Self.order(.update, status: "paid", old: "paid")).isEmpty)
        #expect(throws: CDCError.self) { try mapping.events(for: Self.order(.update, status: "paid", old: "shipped")) }
        // A snapshot row of a shipped order brings a projector to the same state.
        let shipped = try mapping.events(for: Self.order(.read, status: "shipped"))
        #expect(shipped.map(\.stream) == ["order-o1", "order-o1", "order-o1"])
        #expect(Self.domain(shipped) == [created, .paymentConfirmed(orderId: "o1", userId: "u1"), .orderShipped(orderId: "o1", userId: "u1")])
        #expect(Self.domain(try mapping.events(for: Self.order(.read, status: "cancelled", reason: "fraud"))) == [
            created, .orderCancelled(orderId: "o1", userId: "u1", reason: "fraud")])
        #expect(try mapping.events(for: RowChange(table: TableName(table: "other"), operation: .insert, row: ["id": 1], old: nil,
                                                  keyColumns: ["id"], origin: Self.origin)).isEmpty)
    }
}

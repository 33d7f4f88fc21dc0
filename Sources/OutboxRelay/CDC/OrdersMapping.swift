import JSON
import OrdersDomain

/// The example app's mapping (`--mapping orders`): the `users` and `orders` tables (see
/// docs/OUTBOX.md) become the orders domain's events, on the streams the event-sourced write
/// node would use, so the four projectors read them unchanged.
///
/// | change | events |
/// |---|---|
/// | `users` insert (or snapshot row) | `UserRegistered` on `user-<user_id>` |
/// | `users` update of `state` | `UserAddressChanged` (needs the old row: `REPLICA IDENTITY FULL`) |
/// | `orders` insert (or snapshot row) | `OrderCreated`, then what brings it to its `status`: `PaymentConfirmed`, `OrderShipped`, `OrderCancelled` |
/// | `orders` update of `status` | the events from the old status to the new one |
///
/// Other updates (a name, a description) and deletes have no domain event and are skipped.
public struct OrdersMapping: ChangeMapping {
    public init() {}

    public func events(for change: RowChange) throws(CDCError) -> [MappedEvent] {
        guard change.table.schema == "public" else { return [] }
        let domainEvents: [OrdersEvent]
        switch change.table.table {
        case "users": domainEvents = try userEvents(change)
        case "orders": domainEvents = try orderEvents(change)
        default: return []
        }
        guard !domainEvents.isEmpty else { return [] }
        let stream = try change.stream(category: change.table.table == "users" ? "user" : "order")
        return domainEvents.map { event in
            // The domain writes the data bytes; parsing them back keeps one encoding of each shape.
            MappedEvent(stream: stream, type: event.type, data: (try? JSONParser.parse(event.data)) ?? .null,
                        metadata: .object(change.sourceMetadata))
        }
    }

    private func userEvents(_ change: RowChange) throws(CDCError) -> [OrdersEvent] {
        switch change.operation {
        case .read, .insert:
            let row = try Columns(change.row, change)
            return [.userRegistered(userId: try row.string("user_id"), name: try row.string("name"), state: try row.string("state"))]
        case .update:
            let row = try Columns(change.row, change), old = try Columns(change.old, change, needsOld: true)
            let state = try row.string("state"), previousState = try old.string("state")
            guard state != previousState else { return [] }
            return [.userAddressChanged(userId: try row.string("user_id"), state: state, previousState: previousState)]
        case .delete:
            return []
        }
    }

    private func orderEvents(_ change: RowChange) throws(CDCError) -> [OrdersEvent] {
        switch change.operation {
        case .read, .insert:
            let row = try Columns(change.row, change)
            let created = OrdersEvent.orderCreated(
                orderId: try row.string("order_id"), userId: try row.string("user_id"),
                amountCents: try row.int("amount_cents"), description: try row.string("description"))
            return [created] + (try transitions(from: .paymentPending, row))
        case .update:
            let row = try Columns(change.row, change), old = try Columns(change.old, change, needsOld: true)
            return try transitions(from: try old.status(), row)
        case .delete:
            return []
        }
    }

    /// The events taking an order from `status` to the row's status, along the domain's path
    /// (`payment_pending` → `paid` → `shipped`, or → `cancelled` from before shipping).
    private func transitions(from status: OrderStatus, _ row: Columns) throws(CDCError) -> [OrdersEvent] {
        let target = try row.status()
        let orderId = try row.string("order_id"), userId = try row.string("user_id")
        let path: [OrderStatus] = [.paymentPending, .paid, .shipped]
        switch target {
        case status:
            return []
        case .cancelled:
            return [.orderCancelled(orderId: orderId, userId: userId, reason: row.optionalString("cancel_reason") ?? "")]
        case .paymentPending, .paid, .shipped:
            guard let from = path.firstIndex(of: status), let to = path.firstIndex(of: target), from < to else {
                throw CDCError("order \(orderId) went from \(status.rawValue) to \(target.rawValue), which the orders domain does not allow")
            }
            return path[(from + 1)...to].map { (status: OrderStatus) -> OrdersEvent in
                status == .paid ? .paymentConfirmed(orderId: orderId, userId: userId) : .orderShipped(orderId: orderId, userId: userId)
            }
        }
    }

    /// A row's columns with typed access that names what is missing.
    private struct Columns {
        let values: [String: JSONValue]
        let change: RowChange
        /// The row before the change: without REPLICA IDENTITY FULL it holds the key at most.
        let isOld: Bool

        init(_ values: [String: JSONValue]?, _ change: RowChange, needsOld: Bool = false) throws(CDCError) {
            guard let values else {
                throw CDCError(needsOld
                    ? "\(change.table) update without the old row: set REPLICA IDENTITY FULL on it"
                    : "\(change.table) change without its row")
            }
            self.values = values
            self.change = change
            isOld = needsOld
        }

        func string(_ column: String) throws(CDCError) -> String {
            guard let value = values[column]?.stringValue else { throw missing(column, "text") }
            return value
        }

        func optionalString(_ column: String) -> String? { values[column]?.stringValue }

        func int(_ column: String) throws(CDCError) -> Int64 {
            guard let value = values[column]?.intValue else { throw missing(column, "an integer") }
            return value
        }

        func status() throws(CDCError) -> OrderStatus {
            let text = try string("status")
            guard let status = OrderStatus(rawValue: text) else { throw CDCError("\(change.table) has status '\(text)', not an order status") }
            return status
        }

        private func missing(_ column: String, _ type: String) -> CDCError {
            CDCError(isOld
                ? "\(change.table) update without the old \(column): set REPLICA IDENTITY FULL on it"
                : "\(change.table) change lacks column \(column) as \(type)")
        }
    }
}

import EventStore

/// An order's status as the status projection keeps it: one byte in memory and in the snapshot.
enum StatusOrderState: UInt8, Sendable, CaseIterable {
    case paymentPending = 1
    case paid = 2
    case shipped = 3
    case cancelled = 4

    /// The status an order event leaves its order in, or nil for any other event type.
    init?(eventType: String) {
        switch eventType {
        case "OrderCreated": self = .paymentPending
        case "PaymentConfirmed": self = .paid
        case "OrderShipped": self = .shipped
        case "OrderCancelled": self = .cancelled
        default: return nil
        }
    }

    /// The name on the wire, as in the events' `status` field.
    var name: String {
        switch self {
        case .paymentPending: "payment_pending"
        case .paid: "paid"
        case .shipped: "shipped"
        case .cancelled: "cancelled"
        }
    }
}

/// One order in the status projection's map.
struct StatusOrderEntry: Sendable, Equatable {
    var status: StatusOrderState
    var userId: String
}

/// What one event does to the status model (embedded or in Redis): the status it leaves its order
/// in, and the order's and user's ids.
struct StatusChange {
    var status: StatusOrderState
    var orderId: String
    var userId: String

    /// Nil for the events the model ignores: other types, and data without `orderId` or `userId`.
    init?(_ event: RecordedEvent) {
        // Type first, so that events this model ignores cost no JSON parse.
        guard let status = StatusOrderState(eventType: event.type),
            let data = OrdersEventFields(event), let orderId = data.string(.orderId), let userId = data.string(.userId)
        else { return nil }
        self.status = status
        self.orderId = orderId
        self.userId = userId
    }
}

import EventModel
import Foundation
import WireProtocol

/// The events of the orders domain, typed, with their JSON encoding.
///
/// Every event's data carries enough for a read model to apply it without looking at
/// any other stream (order events all carry `userId` and the resulting `status`).
/// Data is compact UTF-8 JSON with keys sorted, byte for byte what `JSONWriter` writes:
///
/// | type | data |
/// |---|---|
/// | `UserRegistered` | `{"name", "state", "userId"}` |
/// | `UserAddressChanged` | `{"previousState", "state", "userId"}` |
/// | `OrderCreated` | `{"amountCents", "description", "orderId", "status": "payment_pending", "userId"}` |
/// | `PaymentConfirmed` | `{"orderId", "status": "paid", "userId"}` |
/// | `OrderShipped` | `{"orderId", "status": "shipped", "userId"}` |
/// | `OrderCancelled` | `{"orderId", "reason", "status": "cancelled", "userId"}` |
public enum OrdersEvent: Sendable, Equatable {
    case userRegistered(userId: String, name: String, state: String)
    case userAddressChanged(userId: String, state: String, previousState: String)
    case orderCreated(orderId: String, userId: String, amountCents: Int64, description: String)
    case paymentConfirmed(orderId: String, userId: String)
    case orderShipped(orderId: String, userId: String)
    case orderCancelled(orderId: String, userId: String, reason: String)

    /// Every event type this domain writes.
    public static let typeNames = [
        "UserRegistered", "UserAddressChanged", "OrderCreated", "PaymentConfirmed", "OrderShipped", "OrderCancelled",
    ]

    /// The event type as stored (`NewEvent.type`).
    public var type: String {
        switch self {
        case .userRegistered: "UserRegistered"
        case .userAddressChanged: "UserAddressChanged"
        case .orderCreated: "OrderCreated"
        case .paymentConfirmed: "PaymentConfirmed"
        case .orderShipped: "OrderShipped"
        case .orderCancelled: "OrderCancelled"
        }
    }

    /// The order status after this event, or nil for user events.
    public var status: OrderStatus? {
        switch self {
        case .userRegistered, .userAddressChanged: nil
        case .orderCreated: .paymentPending
        case .paymentConfirmed: .paid
        case .orderShipped: .shipped
        case .orderCancelled: .cancelled
        }
    }

    /// The event's data as compact UTF-8 JSON with sorted keys.
    public var data: [UInt8] {
        // Written directly rather than through a `JSONValue` dictionary: this runs for every
        // command, and the keys below are listed in sorted order so the bytes match `JSONWriter`.
        var object = JSONObjectWriter(capacity: 160)
        switch self {
        case .userRegistered(let userId, let name, let state):
            object.string("name", name)
            object.string("state", state)
            object.string("userId", userId)
        case .userAddressChanged(let userId, let state, let previousState):
            object.string("previousState", previousState)
            object.string("state", state)
            object.string("userId", userId)
        case .orderCreated(let orderId, let userId, let amountCents, let description):
            object.int("amountCents", amountCents)
            object.string("description", description)
            object.string("orderId", orderId)
            object.string("status", OrderStatus.paymentPending.rawValue)
            object.string("userId", userId)
        case .paymentConfirmed(let orderId, let userId), .orderShipped(let orderId, let userId):
            object.string("orderId", orderId)
            object.string("status", status!.rawValue)
            object.string("userId", userId)
        case .orderCancelled(let orderId, let userId, let reason):
            object.string("orderId", orderId)
            object.string("reason", reason)
            object.string("status", OrderStatus.cancelled.rawValue)
            object.string("userId", userId)
        }
        return object.finish()
    }

    /// A `NewEvent` with a fresh id, ready to append.
    public var newEvent: NewEvent {
        NewEvent(id: .timeOrdered(), type: type, data: data)
    }

    /// Decodes a stored event; nil when the type is not one of this domain's or the data
    /// lacks a field the type needs. Extra fields (and `status`, implied by the type) are ignored.
    public init?(type: String, data: [UInt8]) {
        // Check the type first so that foreign events cost no JSON parse.
        guard Self.typeNames.contains(type),
            case .object(let fields)? = try? JSONParser.parse(data)
        else { return nil }
        func string(_ key: String) -> String? { fields[key]?.stringValue }
        switch type {
        case "UserRegistered":
            guard let userId = string("userId"), let name = string("name"), let state = string("state") else { return nil }
            self = .userRegistered(userId: userId, name: name, state: state)
        case "UserAddressChanged":
            guard let userId = string("userId"), let state = string("state") else { return nil }
            self = .userAddressChanged(userId: userId, state: state, previousState: string("previousState") ?? "")
        case "OrderCreated":
            guard let orderId = string("orderId"), let userId = string("userId"),
                let amountCents = fields["amountCents"]?.intValue, let description = string("description")
            else { return nil }
            self = .orderCreated(orderId: orderId, userId: userId, amountCents: amountCents, description: description)
        case "PaymentConfirmed", "OrderShipped", "OrderCancelled":
            guard let orderId = string("orderId"), let userId = string("userId") else { return nil }
            switch type {
            case "PaymentConfirmed": self = .paymentConfirmed(orderId: orderId, userId: userId)
            case "OrderShipped": self = .orderShipped(orderId: orderId, userId: userId)
            default: self = .orderCancelled(orderId: orderId, userId: userId, reason: string("reason") ?? "")
            }
        default:
            return nil
        }
    }

    /// Decodes a recorded event; nil when it is not one of this domain's (see `init(type:data:)`).
    public init?(_ event: RecordedEvent) {
        self.init(type: event.type, data: event.data)
    }
}

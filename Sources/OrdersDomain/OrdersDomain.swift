import EventModel

/// The orders domain: users in `user-<userId>` streams, orders in `order-<orderId>` streams.
///
/// | command | event | rule |
/// |---|---|---|
/// | `RegisterUser {userId, name, state}` | `UserRegistered` | the user does not exist |
/// | `ChangeUserAddress {userId, state}` | `UserAddressChanged` | the user exists |
/// | `PlaceOrder {orderId, userId, amountCents, description}` | `OrderCreated` | the user exists, the order does not |
/// | `ConfirmPayment {orderId}` | `PaymentConfirmed` | the order is `payment_pending` |
/// | `ShipOrder {orderId}` | `OrderShipped` | the order is `paid` |
/// | `CancelOrder {orderId, reason?}` | `OrderCancelled` | the order is neither `shipped` nor `cancelled` |
///
/// Each command appends exactly one event to one stream, with the expected version of the
/// state it was decided on and a fresh event id (see `OrdersEvent` for the data of each).
///
/// Before any rule is checked the data is validated (`OrdersCommand`): ids are 1…64 bytes of
/// `A-Z a-z 0-9 . _ : -`; `name` (≤ 200 bytes), `state` (≤ 100) and `description` (≤ 2000) are
/// non-blank strings; `reason` (≤ 500) is optional and may be empty; `amountCents` is an integer
/// in 1…10^12. Fields not listed are ignored. Rule violations are `Rejected`, validation
/// failures `InvalidArgument`, each with a message naming the field or the stream's entity.
public struct OrdersDomain: Domain {
    public typealias State = OrdersState
    public typealias Event = OrdersEvent

    /// The commands this domain accepts.
    public static let commandNames: [String] = OrdersCommand.names

    public init() {}

    public static func userStream(_ userId: String) -> String { "user-" + userId }
    public static func orderStream(_ orderId: String) -> String { "order-" + orderId }

    /// - Throws: `DecisionError` `.unknownCommand`, `.invalidArgument` (see `OrdersCommand`), or
    ///   `.rejected` when a rule forbids the command; whatever `stream` throws.
    public func decide(_ command: Command, stream: (String) throws -> StreamState<OrdersState>) throws -> [Decision<OrdersEvent>] {
        switch try OrdersCommand(command) {
        case .registerUser(let userId, let name, let state):
            let streamName = Self.userStream(userId)
            let current = try stream(streamName)
            if case .user? = current.state { throw DecisionError(.rejected, "user \(userId) already exists") }
            return [Self.append(.userRegistered(userId: userId, name: name, state: state), to: streamName, on: current)]

        case .changeUserAddress(let userId, let state):
            let streamName = Self.userStream(userId)
            let current = try stream(streamName)
            guard case .user(let user)? = current.state else { throw DecisionError(.rejected, "user \(userId) does not exist") }
            let event = OrdersEvent.userAddressChanged(userId: userId, state: state, previousState: user.state)
            return [Self.append(event, to: streamName, on: current)]

        case .placeOrder(let orderId, let userId, let amountCents, let description):
            let streamName = Self.orderStream(orderId)
            let current = try stream(streamName)
            if case .order? = current.state { throw DecisionError(.rejected, "order \(orderId) already exists") }
            guard case .user? = try stream(Self.userStream(userId)).state else {
                throw DecisionError(.rejected, "user \(userId) does not exist")
            }
            let event = OrdersEvent.orderCreated(orderId: orderId, userId: userId, amountCents: amountCents, description: description)
            return [Self.append(event, to: streamName, on: current)]

        case .confirmPayment(let orderId):
            let (order, current) = try Self.order(orderId, stream)
            try Self.require(order, is: .paymentPending, toBecome: .paid, verb: "paid")
            return [Self.append(.paymentConfirmed(orderId: orderId, userId: order.userId), to: Self.orderStream(orderId), on: current)]

        case .shipOrder(let orderId):
            let (order, current) = try Self.order(orderId, stream)
            try Self.require(order, is: .paid, toBecome: .shipped, verb: "shipped")
            return [Self.append(.orderShipped(orderId: orderId, userId: order.userId), to: Self.orderStream(orderId), on: current)]

        case .cancelOrder(let orderId, let reason):
            let (order, current) = try Self.order(orderId, stream)
            switch order.status {
            case .cancelled: throw DecisionError(.rejected, "order \(orderId) is already cancelled")
            case .shipped: throw DecisionError(.rejected, "order \(orderId) cannot be cancelled: it is already shipped")
            case .paymentPending, .paid: break
            }
            let event = OrdersEvent.orderCancelled(orderId: orderId, userId: order.userId, reason: reason)
            return [Self.append(event, to: Self.orderStream(orderId), on: current)]
        }
    }

    /// Folds one event (see `OrdersState.applying`).
    public func evolve(_ state: OrdersState?, _ event: OrdersEvent) -> OrdersState? {
        OrdersState.applying(event, to: state)
    }

    /// Decodes a stored event; nil for events of other types or whose data lacks a field (see `OrdersEvent`).
    public func decode(_ recorded: RecordedEvent) -> OrdersEvent? {
        OrdersEvent(recorded)
    }

    private static func append(_ event: OrdersEvent, to stream: String, on current: StreamState<OrdersState>) -> Decision<OrdersEvent> {
        // The id is fresh, so a retry of the command is a new command: no idempotency lookup needed.
        Decision(stream: stream, expectedVersion: current.expectedVersion, events: [event], checkIdempotency: false) {
            $0.newEvent
        }
    }

    private static func order(
        _ orderId: String, _ stream: (String) throws -> StreamState<OrdersState>
    ) throws -> (Order, StreamState<OrdersState>) {
        let current = try stream(orderStream(orderId))
        guard case .order(let order)? = current.state else { throw DecisionError(.rejected, "order \(orderId) does not exist") }
        return (order, current)
    }

    private static func require(_ order: Order, is required: OrderStatus, toBecome target: OrderStatus, verb: String) throws(DecisionError) {
        if order.status == required { return }
        if order.status == target { throw DecisionError(.rejected, "order \(order.orderId) is already \(target.rawValue)") }
        throw DecisionError(
            .rejected,
            "order \(order.orderId) cannot be \(verb): it is \(order.status.rawValue) (must be \(required.rawValue))")
    }
}

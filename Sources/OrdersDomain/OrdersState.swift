/// The state of one stream of the orders domain: a `user-<id>` stream folds to a user,
/// an `order-<id>` stream to an order.
public enum OrdersState: Sendable, Equatable {
    case user(User)
    case order(Order)
}

extension OrdersState {
    /// Folds one event into a stream's state.
    ///
    /// Events are facts: the fold does not re-check the rules `decide` enforced. An event
    /// that needs an existing user or order and finds none leaves the state as it is.
    public static func applying(_ event: OrdersEvent, to state: OrdersState?) -> OrdersState? {
        switch event {
        case .userRegistered(let userId, let name, let userState):
            return .user(User(userId: userId, name: name, state: userState))
        case .userAddressChanged(_, let newState, _):
            guard case .user(var user)? = state else { return state }
            user.state = newState
            return .user(user)
        case .orderCreated(let orderId, let userId, let amountCents, let description):
            return .order(
                Order(
                    orderId: orderId, userId: userId, status: .paymentPending,
                    amountCents: amountCents, description: description
                ))
        case .paymentConfirmed, .orderShipped, .orderCancelled:
            guard case .order(var order)? = state, let status = event.status else { return state }
            order.status = status
            return .order(order)
        }
    }
}

/// An order, folded from the `order-<orderId>` stream.
public struct Order: Sendable, Equatable {
    public var orderId: String
    public var userId: String
    public var status: OrderStatus
    public var amountCents: Int64
    public var description: String

    public init(orderId: String, userId: String, status: OrderStatus, amountCents: Int64, description: String) {
        self.orderId = orderId
        self.userId = userId
        self.status = status
        self.amountCents = amountCents
        self.description = description
    }
}

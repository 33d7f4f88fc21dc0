/// An order's life cycle: `payment_pending` → `paid` → `shipped`, or `cancelled` from `payment_pending` or `paid`.
public enum OrderStatus: String, Sendable, Equatable, CaseIterable {
    case paymentPending = "payment_pending"
    case paid
    case shipped
    case cancelled
}

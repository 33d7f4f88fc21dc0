import WireProtocol

/// A status model's query, validated, and the shape of its answers: one place for the embedded
/// model and the Redis one, so that both validate and answer alike.
///
/// - `orderStatus {orderId}` → `{"orderId", "status", "userId"}`, or `null` for an unknown order.
/// - `userOrders {userId, limit?}` → `{"userId", "orders": [{"orderId", "status"}, …]}`: the
///   user's first `limit` (1…1000, default 100) orders in creation order; `[]` for an unknown user.
enum StatusQuery {
    case orderStatus(orderId: String)
    case userOrders(userId: String, limit: Int)

    static let names = ["orderStatus", "userOrders"]
    /// Default `limit` of `userOrders`.
    static let defaultUserOrdersLimit: Int64 = 100
    /// Largest `limit` of `userOrders`.
    static let maxUserOrdersLimit: Int64 = 1000

    /// - Throws: `WireError` `.unknownQuery`, or `.invalidArgument` naming the parameter.
    init(_ name: String, params: JSONValue) throws {
        switch name {
        case "orderStatus":
            let reader = try FieldReader(params, path: "params")
            self = .orderStatus(orderId: try reader.id("orderId"))
        case "userOrders":
            let reader = try FieldReader(params, path: "params")
            let userId = try reader.id("userId")
            let limit = try reader.int("limit", in: 1...Self.maxUserOrdersLimit, default: Self.defaultUserOrdersLimit)
            self = .userOrders(userId: userId, limit: Int(limit))
        default:
            throw WireError(.unknownQuery, "unknown query '\(name)' (status answers: \(Self.names.joined(separator: ", ")))")
        }
    }

    static func orderStatusAnswer(orderId: String, _ entry: StatusOrderEntry?) -> JSONValue {
        guard let entry else { return .null }
        return ["orderId": .string(orderId), "status": .string(entry.status.name), "userId": .string(entry.userId)]
    }

    static func userOrdersAnswer(userId: String, _ orders: [(orderId: String, status: StatusOrderState)]) -> JSONValue {
        ["userId": .string(userId), "orders": .array(orders.map { ["orderId": .string($0.orderId), "status": .string($0.status.name)] })]
    }
}

import PostgresNIO
import PostgresStore
import WireProtocol

extension PostgresOrdersProjection: OrdersQueries {
    /// Answers one query exactly as `OrdersProjection` does (`OrdersQueries` reads the parameters
    /// and writes the reply; the SELECTs are the embedded model's).
    ///
    /// - Throws: `WireError` `.unknownQuery`, `.invalidArgument`, or `.unavailable` while the
    ///   server cannot be reached.
    public func query(_ name: String, params: JSONValue) throws -> JSONValue {
        try answer(name, params: params)
    }

    private static let selectOrders = "SELECT \(OrdersProjection.orderColumns) FROM \(OrdersProjection.ordersWithState)"

    func order(_ orderId: String) throws -> OrderRow? {
        try model.rows("\(unescaped: Self.selectOrders) WHERE orders.order_id = \(orderId)").first.map(Self.orderRow)
    }

    func orders(status: String, userState: String?, ascending: Bool, limit: Int64, offset: Int64) throws -> [OrderRow] {
        let direction = ascending ? "ASC" : "DESC"
        let query: PostgresQuery = if let userState {
            """
            \(unescaped: Self.selectOrders) WHERE orders.status = \(status) AND users.state = \(userState)
            ORDER BY orders.amount_cents \(unescaped: direction), orders.order_id \(unescaped: direction) LIMIT \(limit) OFFSET \(offset)
            """
        } else {
            """
            \(unescaped: Self.selectOrders) WHERE orders.status = \(status)
            ORDER BY orders.amount_cents \(unescaped: direction), orders.order_id \(unescaped: direction) LIMIT \(limit) OFFSET \(offset)
            """
        }
        return try model.rows(query).map(Self.orderRow)
    }

    func orders(userId: String, limit: Int64, offset: Int64) throws -> [OrderRow] {
        try model.rows("""
            \(unescaped: Self.selectOrders) WHERE orders.user_id = \(userId)
            ORDER BY orders.created_at, orders.order_id LIMIT \(limit) OFFSET \(offset)
            """).map(Self.orderRow)
    }

    func counts(userState: String?) throws -> [(status: String, count: Int64)] {
        let rows = if let userState {
            try model.rows("SELECT status, SUM(n)::bigint FROM status_counts WHERE user_state = \(userState) GROUP BY status")
        } else {
            try model.rows("SELECT status, SUM(n)::bigint FROM status_counts GROUP BY status")
        }
        return try rows.map { row in try row.decode((String, Int64).self) }
    }

    private static func orderRow(_ row: PostgresRow) throws -> OrderRow {
        let (orderId, userId, userState, status, amountCents, description, createdAt, updatedAt) =
            try row.decode((String, String, String?, String, Int64, String, Int64, Int64).self)
        return OrderRow(
            orderId: orderId, userId: userId, userState: userState, status: status, amountCents: amountCents,
            description: description, createdAt: createdAt, updatedAt: updatedAt)
    }
}

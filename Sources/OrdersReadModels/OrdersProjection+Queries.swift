import GRDB
import WireProtocol

extension OrdersProjection: OrdersQueries {
    /// A row's columns, from `ordersWithState` (the user's state joined in): an `OrderRow`.
    static let orderColumns = """
        orders.order_id, orders.user_id, users.state, orders.status, orders.amount_cents, orders.description,
        orders.created_at, orders.updated_at
        """

    /// Answers one query (`OrdersQueries` lists them; see the type's documentation for the schema).
    ///
    /// - Throws: `WireError` `.unknownQuery` or `.invalidArgument`; SQLite errors otherwise.
    public func query(_ name: String, params: JSONValue) throws -> JSONValue {
        try answer(name, params: params)
    }

    func order(_ orderId: String) throws -> OrderRow? {
        try model.read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(Self.orderColumns) FROM \(Self.ordersWithState) WHERE orders.order_id = ?"),
                arguments: [orderId]
            ).map(Self.orderRow)
        }
    }

    func orders(status: String, userState: String?, ascending: Bool, limit: Int64, offset: Int64) throws -> [OrderRow] {
        // Both keys run the same way so the index (status, amount_cents, order_id, user_id)
        // serves the order; amountDesc is exactly amountAsc reversed. A `userState` filter walks
        // that index and looks each order's user up (the state is not in the order's row).
        let direction = ascending ? "ASC" : "DESC"
        var sql = "SELECT \(Self.orderColumns) FROM \(Self.ordersWithState) WHERE orders.status = ?"
        var arguments: StatementArguments = [status]
        if let userState {
            sql += " AND users.state = ?"
            arguments += [userState]
        }
        sql += " ORDER BY orders.amount_cents \(direction), orders.order_id \(direction) LIMIT ? OFFSET ?"
        arguments += [limit, offset]
        return try model.read { db in try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map(Self.orderRow) }
    }

    func orders(userId: String, limit: Int64, offset: Int64) throws -> [OrderRow] {
        try model.read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT \(Self.orderColumns) FROM \(Self.ordersWithState) WHERE orders.user_id = ?
                    ORDER BY orders.created_at, orders.order_id LIMIT ? OFFSET ?
                    """),
                arguments: [userId, limit, offset]
            ).map(Self.orderRow)
        }
    }

    func counts(userState: String?) throws -> [(status: String, count: Int64)] {
        try model.read { db in
            let rows: [Row]
            if let userState {
                rows = try Row.fetchAll(
                    db.cachedStatement(sql: "SELECT status, SUM(n) FROM status_counts WHERE user_state = ? GROUP BY status"),
                    arguments: [userState])
            } else {
                rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT status, SUM(n) FROM status_counts GROUP BY status"))
            }
            return rows.map { row in (row[0], row[1]) }
        }
    }

    private static func orderRow(_ row: Row) -> OrderRow {
        OrderRow(
            orderId: row[0], userId: row[1], userState: row[2], status: row[3], amountCents: row[4],
            description: row[5], createdAt: row[6], updatedAt: row[7])
    }
}

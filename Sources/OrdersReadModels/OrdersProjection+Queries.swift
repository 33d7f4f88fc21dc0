import GRDB
import WireProtocol

extension OrdersProjection {
    /// Most rows one page may hold (`limit`).
    static let maxLimit: Int64 = 1000
    /// Rows a page holds when `limit` is absent.
    static let defaultLimit: Int64 = 50
    /// Largest `offset`: deep paging by offset costs a scan of the skipped rows.
    static let maxOffset: Int64 = 100_000

    /// A row's columns, from `ordersWithState` (the user's state joined in).
    static let orderColumns = """
        orders.order_id, orders.user_id, users.state, orders.status, orders.amount_cents, orders.description,
        orders.created_at, orders.updated_at
        """

    /// Answers one query (see the type's documentation for the schema).
    ///
    /// | query | params | result |
    /// |---|---|---|
    /// | `order` | `orderId` | the order's row, or `null` |
    /// | `ordersByStatus` | `status`, `userState`?, `order`? (`amountDesc` \| `amountAsc`), `limit`? (1…1000, 50), `offset`? (0…100000, 0) | `{"orders": [row], "nextOffset": n \| null}` |
    /// | `ordersByUser` | `userId`, `limit`?, `offset`? | `{"orders": [row], "nextOffset": n \| null}`, by `createdAt` then `orderId` |
    /// | `countByStatus` | `userState`? | `{"payment_pending": n, "paid": n, "shipped": n, "cancelled": n}` |
    ///
    /// A row is `{"orderId", "userId", "userState" (string or null), "status", "amountCents",
    /// "description", "createdAt", "updatedAt"}` (times in ns since the epoch).
    ///
    /// - Throws: `WireError` `.unknownQuery` or `.invalidArgument`; SQLite errors otherwise.
    public func query(_ name: String, params: JSONValue) throws -> JSONValue {
        switch name {
        case "order": return try order(OrdersQueryReader(params))
        case "ordersByStatus": return try ordersByStatus(OrdersQueryReader(params))
        case "ordersByUser": return try ordersByUser(OrdersQueryReader(params))
        case "countByStatus": return try countByStatus(OrdersQueryReader(params))
        default:
            throw WireError(
                .unknownQuery,
                "unknown query '\(OrdersQueryReader.clip(name))' (orders answers: \(queryNames.joined(separator: ", ")))")
        }
    }

    private func order(_ params: OrdersQueryReader) throws -> JSONValue {
        let orderId = try params.fields.id("orderId")
        return try model.read { db in
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(Self.orderColumns) FROM \(Self.ordersWithState) WHERE orders.order_id = ?"),
                arguments: [orderId])
            return row.map(Self.json) ?? .null
        }
    }

    private func ordersByStatus(_ params: OrdersQueryReader) throws -> JSONValue {
        let status = try params.status("status")
        let userState = try params.optionalFilter("userState")
        let ascending = try params.choice("order", ["amountDesc", "amountAsc"]) == "amountAsc"
        let (limit, offset) = try page(params)
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
        arguments += [limit + 1, offset]
        return try model.read { db in
            try Self.page(Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments), limit: limit, offset: offset)
        }
    }

    private func ordersByUser(_ params: OrdersQueryReader) throws -> JSONValue {
        let userId = try params.fields.id("userId")
        let (limit, offset) = try page(params)
        return try model.read { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT \(Self.orderColumns) FROM \(Self.ordersWithState) WHERE orders.user_id = ?
                    ORDER BY orders.created_at, orders.order_id LIMIT ? OFFSET ?
                    """),
                arguments: [userId, limit + 1, offset])
            return Self.page(rows, limit: limit, offset: offset)
        }
    }

    private func countByStatus(_ params: OrdersQueryReader) throws -> JSONValue {
        let userState = try params.optionalFilter("userState")
        return try model.read { db in
            var counts = [String: JSONValue]()
            for status in OrdersQueryReader.statuses { counts[status] = 0 }
            let rows: [Row]
            if let userState {
                rows = try Row.fetchAll(
                    db.cachedStatement(sql: "SELECT status, SUM(n) FROM status_counts WHERE user_state = ? GROUP BY status"),
                    arguments: [userState])
            } else {
                rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT status, SUM(n) FROM status_counts GROUP BY status"))
            }
            for row in rows {
                let status: String = row[0]
                counts[status] = .int(row[1])
            }
            return .object(counts)
        }
    }

    private func page(_ params: OrdersQueryReader) throws(WireError) -> (limit: Int64, offset: Int64) {
        (try params.int("limit", in: 1...Self.maxLimit, default: Self.defaultLimit),
         try params.int("offset", in: 0...Self.maxOffset, default: 0))
    }

    /// `{"orders": [...], "nextOffset": …}` from up to `limit + 1` rows: the extra row only tells
    /// that another page exists. `nextOffset` is null on the last page, and also when the next
    /// page would start past `maxOffset` (a narrower filter is needed to go further).
    private static func page(_ rows: [Row], limit: Int64, offset: Int64) -> JSONValue {
        let more = rows.count > Int(limit)
        let next = offset + limit
        return [
            "orders": .array(rows.prefix(Int(limit)).map(json)),
            "nextOffset": more && next <= maxOffset ? .int(next) : .null,
        ]
    }

    static func json(_ row: Row) -> JSONValue {
        let userState: String? = row[2]
        return [
            "orderId": .string(row[0]),
            "userId": .string(row[1]),
            "userState": userState.map(JSONValue.string) ?? .null,
            "status": .string(row[3]),
            "amountCents": .int(row[4]),
            "description": .string(row[5]),
            "createdAt": .int(row[6]),
            "updatedAt": .int(row[7]),
        ]
    }
}

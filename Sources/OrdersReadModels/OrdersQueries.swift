import WireProtocol

/// The orders read model's four queries, answered alike on every store: the parameters are read
/// and checked here, the paging and the JSON written here; a store only fetches the rows.
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
protocol OrdersQueries {
    /// The order's row, nil when there is none.
    func order(_ orderId: String) throws -> OrderRow?
    /// Up to `limit` rows of `status` (and `userState`) from `offset`, by amount then order id,
    /// both ascending or both descending.
    func orders(status: String, userState: String?, ascending: Bool, limit: Int64, offset: Int64) throws -> [OrderRow]
    /// Up to `limit` rows of the user from `offset`, by `createdAt` then order id.
    func orders(userId: String, limit: Int64, offset: Int64) throws -> [OrderRow]
    /// The count of each status that has any (of users in `userState`, when given).
    func counts(userState: String?) throws -> [(status: String, count: Int64)]
}

/// One order as the queries return it, its user's current state joined in.
struct OrderRow {
    var orderId: String
    var userId: String
    var userState: String?
    var status: String
    var amountCents: Int64
    var description: String
    var createdAt: Int64
    var updatedAt: Int64

    var json: JSONValue {
        [
            "orderId": .string(orderId),
            "userId": .string(userId),
            "userState": userState.map(JSONValue.string) ?? .null,
            "status": .string(status),
            "amountCents": .int(amountCents),
            "description": .string(description),
            "createdAt": .int(createdAt),
            "updatedAt": .int(updatedAt),
        ]
    }
}

enum OrdersQueryRules {
    /// What the orders model answers, on every store.
    static let queryNames = ["order", "ordersByStatus", "ordersByUser", "countByStatus"]
    /// Most rows one page may hold (`limit`).
    static let maxLimit: Int64 = 1000
    /// Rows a page holds when `limit` is absent.
    static let defaultLimit: Int64 = 50
    /// Largest `offset`: deep paging by offset costs a scan of the skipped rows.
    static let maxOffset: Int64 = 100_000
}

extension OrdersQueries {
    /// Answers one query (see the type's documentation).
    ///
    /// - Throws: `WireError` `.unknownQuery` or `.invalidArgument`; the store's errors otherwise.
    func answer(_ name: String, params: JSONValue) throws -> JSONValue {
        let params = try OrdersQueryReader(params)
        switch name {
        case "order":
            return try order(params.fields.id("orderId"))?.json ?? .null
        case "ordersByStatus":
            let status = try params.status("status")
            let userState = try params.optionalFilter("userState")
            let ascending = try params.choice("order", ["amountDesc", "amountAsc"]) == "amountAsc"
            let (limit, offset) = try Self.page(params)
            // One row past the page tells whether another page exists.
            return Self.page(try orders(status: status, userState: userState, ascending: ascending, limit: limit + 1, offset: offset),
                             limit: limit, offset: offset)
        case "ordersByUser":
            let userId = try params.fields.id("userId")
            let (limit, offset) = try Self.page(params)
            return Self.page(try orders(userId: userId, limit: limit + 1, offset: offset), limit: limit, offset: offset)
        case "countByStatus":
            var result = [String: JSONValue]()
            for status in OrdersQueryReader.statuses { result[status] = 0 }
            for (status, count) in try counts(userState: params.optionalFilter("userState")) { result[status] = .int(count) }
            return .object(result)
        default:
            throw WireError(
                .unknownQuery,
                "unknown query '\(OrdersQueryReader.clip(name))' (orders answers: \(OrdersQueryRules.queryNames.joined(separator: ", ")))")
        }
    }

    private static func page(_ params: OrdersQueryReader) throws(WireError) -> (limit: Int64, offset: Int64) {
        (try params.int("limit", in: 1...OrdersQueryRules.maxLimit, default: OrdersQueryRules.defaultLimit),
         try params.int("offset", in: 0...OrdersQueryRules.maxOffset, default: 0))
    }

    /// `{"orders": [...], "nextOffset": …}` from up to `limit + 1` rows: the extra row only tells
    /// that another page exists. `nextOffset` is null on the last page, and also when the next
    /// page would start past `maxOffset` (a narrower filter is needed to go further).
    private static func page(_ rows: [OrderRow], limit: Int64, offset: Int64) -> JSONValue {
        let more = rows.count > Int(limit)
        let next = offset + limit
        return [
            "orders": .array(rows.prefix(Int(limit)).map(\.json)),
            "nextOffset": more && next <= OrdersQueryRules.maxOffset ? .int(next) : .null,
        ]
    }
}

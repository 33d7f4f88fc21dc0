import WireProtocol

/// A validated `monthly` query, read the same way by every history model (SQLite and
/// PostgreSQL), with the reply's shape, so that both answer and refuse identically.
struct MonthlyRequest {
    /// Largest `to − from`, in months.
    static let maxMonthSpan = 120

    let userId: String
    let from: HistoryMonth
    let to: HistoryMonth

    /// Reads `monthly {userId, from, to}`: `from` and `to` are months `YYYY-MM`, inclusive,
    /// `from ≤ to`, at most `maxMonthSpan` (120) months apart.
    ///
    /// - Throws: `WireError` `.unknownQuery` when `name` is not `monthly`, or `.invalidArgument` naming the parameter.
    init(_ name: String, params: JSONValue, queryNames: [String]) throws {
        guard name == "monthly" else {
            throw WireError(.unknownQuery, "unknown query '\(name)' (history answers: \(queryNames.joined(separator: ", ")))")
        }
        let reader = try FieldReader(params, path: "params")
        userId = try reader.id("userId")
        from = try Self.month(reader, "from")
        to = try Self.month(reader, "to")
        if to < from {
            throw WireError(.invalidArgument, "params.to (\(to.text)) must not be before params.from (\(from.text))")
        }
        if to.index - from.index > Self.maxMonthSpan {
            throw WireError(
                .invalidArgument,
                "params.to (\(to.text)) must be at most \(Self.maxMonthSpan) months after params.from (\(from.text)), it is \(to.index - from.index)"
            )
        }
    }

    private static func month(_ reader: FieldReader, _ key: String) throws -> HistoryMonth {
        let text = try reader.string(key)
        guard let month = HistoryMonth(text: text) else {
            // Quote as JSON so that odd characters stay visible; cut very long values short.
            let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
            throw WireError(.invalidArgument, "\(reader.path).\(key) must be a month like 2026-01, got \(JSONValue.string(shown).jsonString)")
        }
        return month
    }

    /// The reply: `{"userId", "months": [month]}`, the months ascending.
    func result(_ months: [JSONValue]) -> JSONValue {
        ["userId": .string(userId), "months": .array(months)]
    }

    /// One month of the reply: its figures and its orders in creation order.
    static func month(
        _ month: String, count: Int64, totalCents: Int64, cancelledCount: Int64, cancelledCents: Int64, orders: [JSONValue]
    ) -> JSONValue {
        [
            "month": .string(month), "count": .int(count), "totalCents": .int(totalCents),
            "cancelledCount": .int(cancelledCount), "cancelledCents": .int(cancelledCents), "orders": .array(orders),
        ]
    }

    /// One order of a month.
    static func order(orderId: String, amountCents: Int64, createdAt: Int64, cancelled: Bool) -> JSONValue {
        ["orderId": .string(orderId), "amountCents": .int(amountCents), "createdAt": .int(createdAt), "cancelled": .bool(cancelled)]
    }
}

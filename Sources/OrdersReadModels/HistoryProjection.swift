import EventStore
import GRDB
import ProjectionRuntime
import WireProtocol

/// Each user's orders per calendar month (the seed's Cassandra time series), in SQLite
/// (`<directory>/history.sqlite`, through `SQLiteReadModel`).
///
/// Applying an event:
/// - `OrderCreated` puts the order in the bucket of its user and of the UTC month (`YYYY-MM`) of
///   the event's `recordedAt`: the bucket's `count` grows by one and `total_cents` by the amount,
///   and the order (id, amount, creation time) is added to `bucket_orders`;
/// - `OrderCancelled` marks the order cancelled and adds it to `cancelled_count` /
///   `cancelled_cents` of the bucket it was created in. A cancelled order *stays* in `count` and
///   `total_cents`: those count orders placed, so a month's figures never shrink after the fact;
///   placed-and-kept is `count − cancelledCount`, `totalCents − cancelledCents`;
/// - `PaymentConfirmed` and `OrderShipped` change nothing (orders never move between months);
/// - other event types, a cancellation of an order never created, a second `OrderCreated` or
///   `OrderCancelled` for the same order, and events whose data lacks a needed field are ignored.
///
/// Tables:
/// - `buckets (user_id, month, count, total_cents, cancelled_count, cancelled_cents)`, key `(user_id, month)`;
/// - `bucket_orders (order_id, user_id, month, position, amount_cents, created_at, cancelled)`, key
///   `order_id`, indexed by `(user_id, month, position)`; `created_at` is ns since the epoch, UTC.
public final class HistoryProjection: Projection {
    public let category: String? = "order"
    public let queryNames = ["monthly"]

    /// Largest `to − from` of `monthly`, in months.
    public static let maxMonthSpan = 120

    /// The SQLite file, checkpoint table and transactions.
    public let model: SQLiteReadModel

    private static let tables = ["buckets", "bucket_orders"]

    /// Opens (creating) `<directory>/history.sqlite`.
    ///
    /// - Throws: file-system and SQLite errors.
    public init(directory: String) throws {
        model = try SQLiteReadModel(directory: directory, fileName: "history.sqlite", tables: Self.tables, schema: Self.createSchema)
        // Buckets and orders are keyed by user and order id, so a batch dirties pages all over the
        // file and the WAL fills fast; checkpointing every 1000 pages (SQLite's default) would mean
        // a checkpoint, with its fsyncs, after nearly every batch.
        try model.queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = 16384") }
    }

    private static func createSchema(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS buckets (
                    user_id TEXT NOT NULL,
                    month TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    total_cents INTEGER NOT NULL,
                    cancelled_count INTEGER NOT NULL,
                    cancelled_cents INTEGER NOT NULL,
                    PRIMARY KEY (user_id, month)
                ) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS bucket_orders (
                    order_id TEXT NOT NULL PRIMARY KEY,
                    user_id TEXT NOT NULL,
                    month TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    amount_cents INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    cancelled INTEGER NOT NULL DEFAULT 0
                ) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS bucket_orders_by_user_month ON bucket_orders (user_id, month, position);
                """)
    }

    public func checkpoint() throws -> Int64 { try model.checkpoint() }

    /// Applies `events` and stores `position` as the checkpoint in one SQLite transaction.
    public func apply(_ events: [RecordedEvent], through position: Int64) throws {
        try model.apply(through: position) { db in
            for event in events {
                switch event.type {
                case "OrderCreated": try applyCreated(event, db)
                case "OrderCancelled": try applyCancelled(event, db)
                default: continue  // other order events do not change a month's figures
                }
            }
        }
    }

    private func applyCreated(_ event: RecordedEvent, _ db: Database) throws {
        guard case .object(let fields)? = try? JSONParser.parse(event.data),
            case .string(let orderId)? = fields["orderId"],
            case .string(let userId)? = fields["userId"],
            case .int(let amountCents)? = fields["amountCents"]
        else { return }
        let month = HistoryMonth(epochNanoseconds: event.recordedAt).text
        let insertOrder = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO bucket_orders (order_id, user_id, month, position, amount_cents, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """)
        insertOrder.setUncheckedArguments([orderId, userId, month, event.position, amountCents, event.recordedAt])
        try insertOrder.execute()
        guard db.changesCount == 1 else { return }  // created twice: the first one counts
        let addToBucket = try db.cachedStatement(
            sql: """
                INSERT INTO buckets (user_id, month, count, total_cents, cancelled_count, cancelled_cents)
                VALUES (?, ?, 1, ?, 0, 0)
                ON CONFLICT (user_id, month) DO UPDATE SET count = count + 1, total_cents = total_cents + excluded.total_cents
                """)
        addToBucket.setUncheckedArguments([userId, month, amountCents])
        try addToBucket.execute()
    }

    private func applyCancelled(_ event: RecordedEvent, _ db: Database) throws {
        guard case .object(let fields)? = try? JSONParser.parse(event.data),
            case .string(let orderId)? = fields["orderId"]
        else { return }
        // The bucket is the order's creation month and user, whatever the cancellation says.
        let findOrder = try db.cachedStatement(
            sql: "SELECT user_id, month, amount_cents FROM bucket_orders WHERE order_id = ? AND cancelled = 0")
        guard let row = try Row.fetchOne(findOrder, arguments: [orderId]) else { return }
        let userId: String = row[0]
        let month: String = row[1]
        let amountCents: Int64 = row[2]
        let markOrder = try db.cachedStatement(sql: "UPDATE bucket_orders SET cancelled = 1 WHERE order_id = ?")
        markOrder.setUncheckedArguments([orderId])
        try markOrder.execute()
        let addCancelled = try db.cachedStatement(
            sql: """
                UPDATE buckets SET cancelled_count = cancelled_count + 1, cancelled_cents = cancelled_cents + ?
                WHERE user_id = ? AND month = ?
                """)
        addCancelled.setUncheckedArguments([amountCents, userId, month])
        try addCancelled.execute()
    }

    public func reset() throws { try model.reset() }

    /// Answers `monthly {userId, from, to}`.
    ///
    /// `from` and `to` are months `YYYY-MM`, inclusive, `from ≤ to`, at most `maxMonthSpan` (120)
    /// months apart. The result is
    /// `{"userId", "months": [{"month", "count", "totalCents", "cancelledCount", "cancelledCents",
    /// "orders": [{"orderId", "amountCents", "createdAt", "cancelled"}, …]}, …]}` holding only the
    /// months with orders, ascending, each month's orders in creation order.
    /// - Throws: `WireError` `.unknownQuery`, or `.invalidArgument` naming the parameter.
    public func query(_ name: String, params: JSONValue) throws -> JSONValue {
        guard name == "monthly" else {
            throw WireError(.unknownQuery, "unknown query '\(name)' (history answers: \(queryNames.joined(separator: ", ")))")
        }
        let reader = try FieldReader(params, path: "params")
        let userId = try reader.id("userId")
        let from = try Self.month(reader, "from")
        let to = try Self.month(reader, "to")
        if to < from {
            throw WireError(.invalidArgument, "params.to (\(to.text)) must not be before params.from (\(from.text))")
        }
        if to.index - from.index > Self.maxMonthSpan {
            throw WireError(
                .invalidArgument,
                "params.to (\(to.text)) must be at most \(Self.maxMonthSpan) months after params.from (\(from.text)), it is \(to.index - from.index)"
            )
        }
        return try model.queue.read { db in
            let arguments: StatementArguments = [userId, from.text, to.text]
            let bucketRows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT month, count, total_cents, cancelled_count, cancelled_cents FROM buckets
                        WHERE user_id = ? AND month BETWEEN ? AND ? ORDER BY month
                        """),
                arguments: arguments)
            var ordersByMonth: [String: [JSONValue]] = [:]
            let orderRows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        SELECT month, order_id, amount_cents, created_at, cancelled FROM bucket_orders
                        WHERE user_id = ? AND month BETWEEN ? AND ? ORDER BY month, position
                        """),
                arguments: arguments)
            while let row = try orderRows.next() {
                let month: String = row[0]
                let order: JSONValue = [
                    "orderId": .string(row[1]), "amountCents": .int(row[2]), "createdAt": .int(row[3]),
                    "cancelled": .bool(row[4] as Int64 != 0),
                ]
                ordersByMonth[month, default: []].append(order)
            }
            let months = bucketRows.map { row -> JSONValue in
                let month: String = row[0]
                return [
                    "month": .string(month), "count": .int(row[1]), "totalCents": .int(row[2]),
                    "cancelledCount": .int(row[3]), "cancelledCents": .int(row[4]),
                    "orders": .array(ordersByMonth[month] ?? []),
                ]
            }
            return ["userId": .string(userId), "months": .array(months)]
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

    /// FNV-1a over `buckets` ordered by user and month, then `bucket_orders` ordered by order id.
    public func digest() throws -> String {
        try model.digest([
            "SELECT user_id, month, count, total_cents, cancelled_count, cancelled_cents FROM buckets ORDER BY user_id, month",
            "SELECT order_id, user_id, month, position, amount_cents, created_at, cancelled FROM bucket_orders ORDER BY order_id",
        ])
    }
}

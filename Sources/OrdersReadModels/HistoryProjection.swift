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
/// - `buckets (month, user_id, count, total_cents, cancelled_count, cancelled_cents)`, key `(month, user_id)`;
/// - `bucket_orders (month, user_id, position, order_id, amount_cents, created_at, cancelled)`, key
///   `(month, user_id, position)`, unique index on `order_id`; `created_at` is ns since the epoch, UTC.
///
/// Both tables are keyed month first: events arrive in time order, so a batch's changes land in
/// the few pages of the current month instead of all over the file, which keeps the WAL small.
/// A query then looks each month up by key (at most 121 lookups).
public final class HistoryProjection: SQLiteProjection {
    public let category: String? = "order"
    public let queryNames = ["monthly"]

    /// The SQLite file, checkpoint table and transactions.
    public let model: SQLiteReadModel

    private static let tables = ["buckets", "bucket_orders"]

    /// Opens (creating) `<directory>/history.sqlite`.
    ///
    /// - Throws: file-system and SQLite errors.
    public init(directory: String) throws {
        model = try SQLiteReadModel(directory: directory, fileName: "history.sqlite", tables: Self.tables, schema: Self.createSchema)
    }

    private static func createSchema(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS buckets (
                    month TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    total_cents INTEGER NOT NULL,
                    cancelled_count INTEGER NOT NULL,
                    cancelled_cents INTEGER NOT NULL,
                    PRIMARY KEY (month, user_id)
                ) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS bucket_orders (
                    month TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    order_id TEXT NOT NULL,
                    amount_cents INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    cancelled INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (month, user_id, position)
                ) WITHOUT ROWID;
                CREATE UNIQUE INDEX IF NOT EXISTS bucket_orders_by_id ON bucket_orders (order_id);
                """)
    }

    /// Applies one event inside the batch's transaction.
    public func apply(_ event: RecordedEvent, _ db: Database) throws {
        switch event.type {
        case "OrderCreated": try applyCreated(event, db)
        case "OrderCancelled": try applyCancelled(event, db)
        default: return  // other order events do not change a month's figures
        }
    }

    private func applyCreated(_ event: RecordedEvent, _ db: Database) throws {
        guard let data = OrdersEventFields(event), data.hasString(.orderId), data.hasString(.userId),
            let amountCents = data.int(.amountCents)
        else { return }
        let month = HistoryMonth(epochNanoseconds: event.recordedAt).text
        let insertOrder = try RawStatement(db, sql: """
            INSERT OR IGNORE INTO bucket_orders (month, user_id, position, order_id, amount_cents, created_at)
            VALUES (?, ?, ?, ?, ?, ?)
            """)
        insertOrder.bind(month, at: 1)
        insertOrder.bind(.userId, of: data, at: 2)
        insertOrder.bind(event.position, at: 3)
        insertOrder.bind(.orderId, of: data, at: 4)
        insertOrder.bind(amountCents, at: 5)
        insertOrder.bind(event.recordedAt, at: 6)
        try insertOrder.run()
        guard db.changesCount == 1 else { return }  // created twice: the first one counts
        let addToBucket = try RawStatement(db, sql: """
            INSERT INTO buckets (month, user_id, count, total_cents, cancelled_count, cancelled_cents)
            VALUES (?, ?, 1, ?, 0, 0)
            ON CONFLICT (month, user_id) DO UPDATE SET count = count + 1, total_cents = total_cents + excluded.total_cents
            """)
        addToBucket.bind(month, at: 1)
        addToBucket.bind(.userId, of: data, at: 2)
        addToBucket.bind(amountCents, at: 3)
        try addToBucket.run()
    }

    private func applyCancelled(_ event: RecordedEvent, _ db: Database) throws {
        guard let data = OrdersEventFields(event), data.hasString(.orderId) else { return }
        // The bucket is the order's creation month and user, whatever the cancellation says.
        let findOrder = try RawStatement(
            db, sql: "SELECT month, user_id, position, amount_cents FROM bucket_orders WHERE order_id = ? AND cancelled = 0")
        findOrder.bind(.orderId, of: data, at: 1)
        defer { findOrder.reset() }
        guard try findOrder.step() else { return }
        let month = findOrder.string(0)
        let userId = findOrder.string(1)
        let position = findOrder.int64(2)
        let amountCents = findOrder.int64(3)
        findOrder.reset()
        let markOrder = try RawStatement(db, sql: "UPDATE bucket_orders SET cancelled = 1 WHERE month = ? AND user_id = ? AND position = ?")
        markOrder.bind(month, at: 1)
        markOrder.bind(userId, at: 2)
        markOrder.bind(position, at: 3)
        try markOrder.run()
        let addCancelled = try RawStatement(db, sql: """
            UPDATE buckets SET cancelled_count = cancelled_count + 1, cancelled_cents = cancelled_cents + ?
            WHERE month = ? AND user_id = ?
            """)
        addCancelled.bind(amountCents, at: 1)
        addCancelled.bind(month, at: 2)
        addCancelled.bind(userId, at: 3)
        try addCancelled.run()
    }

    /// Answers `monthly {userId, from, to}` (`MonthlyRequest`).
    ///
    /// The result is
    /// `{"userId", "months": [{"month", "count", "totalCents", "cancelledCount", "cancelledCents",
    /// "orders": [{"orderId", "amountCents", "createdAt", "cancelled"}, …]}, …]}` holding only the
    /// months with orders, ascending, each month's orders in creation order.
    /// - Throws: `WireError` `.unknownQuery`, or `.invalidArgument` naming the parameter.
    public func query(_ name: String, params: JSONValue) throws -> JSONValue {
        let request = try MonthlyRequest(name, params: params, queryNames: queryNames)
        return try model.read { db in
            // One point lookup per month: the tables are keyed month first (see the type's notes),
            // and a range is at most 121 months.
            let findBucket = try db.cachedStatement(
                sql: """
                    SELECT count, total_cents, cancelled_count, cancelled_cents FROM buckets
                    WHERE month = ? AND user_id = ?
                    """)
            let findOrders = try db.cachedStatement(
                sql: """
                    SELECT order_id, amount_cents, created_at, cancelled FROM bucket_orders
                    WHERE month = ? AND user_id = ? ORDER BY position
                    """)
            var months: [JSONValue] = []
            for index in request.from.index...request.to.index {
                let month = HistoryMonth(index: index).text
                let arguments: StatementArguments = [month, request.userId]
                guard let bucket = try Row.fetchOne(findBucket, arguments: arguments) else { continue }
                let orders = try Row.fetchAll(findOrders, arguments: arguments).map { row in
                    MonthlyRequest.order(orderId: row[0], amountCents: row[1], createdAt: row[2], cancelled: row[3] as Int64 != 0)
                }
                months.append(MonthlyRequest.month(
                    month, count: bucket[0], totalCents: bucket[1], cancelledCount: bucket[2], cancelledCents: bucket[3], orders: orders))
            }
            return request.result(months)
        }
    }

    /// FNV-1a over `buckets` ordered by user and month, then `bucket_orders` ordered by order id.
    public func digest() throws -> String {
        try model.digest([
            "SELECT user_id, month, count, total_cents, cancelled_count, cancelled_cents FROM buckets ORDER BY user_id, month",
            "SELECT order_id, user_id, month, position, amount_cents, created_at, cancelled FROM bucket_orders ORDER BY order_id",
        ])
    }
}

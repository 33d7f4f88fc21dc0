import EventStore
import GRDB
import ProjectionRuntime
import WireProtocol

/// The relational orders read model: every order joined with its user's current state, in
/// SQLite (`orders.sqlite`), answering `order`, `ordersByStatus`, `ordersByUser` and `countByStatus`.
///
/// Schema (denormalized so the status/state/amount query is one index range; both tables are
/// `WITHOUT ROWID`, so an order is one b-tree entry plus its two index entries):
///
/// - `users(user_id PK, name, state)`: `name` is NULL for a user first seen by an address change.
/// - `orders(order_id PK, user_id, user_state, status, amount_cents, description, created_at, updated_at)`:
///   `user_state` is the user's current state (NULL while the user is unknown), `created_at` /
///   `updated_at` the recorded time (ns since the epoch) of the order's first and latest event.
/// - indexes `orders_by_status(status, user_state, amount_cents, order_id)` and
///   `orders_by_user(user_id, created_at, order_id)`.
///
/// It takes every category (users and orders) and ignores event types it does not know,
/// and events of a known type whose data lacks a field it needs.
public final class OrdersProjection: SQLiteProjection {
    public static let fileName = "orders.sqlite"

    public let category: String? = nil
    public let queryNames = ["order", "ordersByStatus", "ordersByUser", "countByStatus"]

    public let model: SQLiteReadModel

    /// Opens (creating) `<directory>/orders.sqlite`.
    ///
    /// - Throws: a file-system or SQLite error when the directory or database cannot be opened.
    public init(directory: String) throws {
        model = try SQLiteReadModel(
            directory: directory, fileName: Self.fileName, tables: ["orders", "users", "status_counts"], schema: Self.createSchema)
    }

    static func createSchema(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS users (
                user_id TEXT PRIMARY KEY NOT NULL,
                name TEXT,
                state TEXT NOT NULL
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS orders (
                order_id TEXT PRIMARY KEY NOT NULL,
                user_id TEXT NOT NULL,
                user_state TEXT,
                status TEXT NOT NULL,
                amount_cents INTEGER NOT NULL,
                description TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, user_state, amount_cents, order_id);
            CREATE INDEX IF NOT EXISTS orders_by_user ON orders (user_id, created_at, order_id);

            -- Order counts per (status, user state), kept by triggers in the same transaction as
            -- the orders themselves, so `countByStatus` reads a few rows instead of every order.
            -- An unknown user state counts under ''.
            CREATE TABLE IF NOT EXISTS status_counts (
                status TEXT NOT NULL,
                user_state TEXT NOT NULL,
                n INTEGER NOT NULL,
                PRIMARY KEY (status, user_state)
            ) WITHOUT ROWID;
            CREATE TRIGGER IF NOT EXISTS orders_counted_on_insert AFTER INSERT ON orders BEGIN
                INSERT INTO status_counts VALUES (NEW.status, COALESCE(NEW.user_state, ''), 1)
                ON CONFLICT (status, user_state) DO UPDATE SET n = n + 1;
            END;
            CREATE TRIGGER IF NOT EXISTS orders_counted_on_update AFTER UPDATE OF status, user_state ON orders BEGIN
                UPDATE status_counts SET n = n - 1 WHERE status = OLD.status AND user_state = COALESCE(OLD.user_state, '');
                INSERT INTO status_counts VALUES (NEW.status, COALESCE(NEW.user_state, ''), 1)
                ON CONFLICT (status, user_state) DO UPDATE SET n = n + 1;
            END;
            -- A model built before the counts existed gets them once, from its orders.
            INSERT INTO status_counts (status, user_state, n)
                SELECT status, COALESCE(user_state, ''), COUNT(*) FROM orders
                WHERE NOT EXISTS (SELECT 1 FROM status_counts) GROUP BY 1, 2;
            """)
    }

    /// A digest of everything a query reads: users, orders and the counts `countByStatus` sums
    /// (a count of zero reads like a missing row, so only the others).
    public func digest() throws -> String {
        try model.digest([
            "SELECT user_id, name, state FROM users ORDER BY user_id",
            "SELECT \(Self.orderColumns) FROM orders ORDER BY order_id",
            "SELECT status, user_state, n FROM status_counts WHERE n != 0 ORDER BY status, user_state",
        ])
    }

    // MARK: - Applying events

    public func apply(_ event: RecordedEvent, _ db: Database) throws {
        switch event.type {
        case "UserRegistered":
            guard let data = OrdersEventFields(event), let userId = data.string("userId"),
                let name = data.string("name"), let state = data.string("state")
            else { return }
            try db.cachedStatement(sql: """
                INSERT INTO users (user_id, name, state) VALUES (?, ?, ?)
                ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, state = excluded.state
                """).execute(arguments: [userId, name, state])
            // Orders placed before the user was known (not possible in the domain, but a log from
            // elsewhere may hold them) get the state now.
            try moveOrders(of: userId, to: state, db)
        case "UserAddressChanged":
            guard let data = OrdersEventFields(event), let userId = data.string("userId"),
                let state = data.string("state")
            else { return }
            try db.cachedStatement(sql: """
                INSERT INTO users (user_id, name, state) VALUES (?, NULL, ?)
                ON CONFLICT (user_id) DO UPDATE SET state = excluded.state
                """).execute(arguments: [userId, state])
            try moveOrders(of: userId, to: state, db)
        case "OrderCreated":
            guard let data = OrdersEventFields(event), let orderId = data.string("orderId"),
                let userId = data.string("userId"), let amountCents = data.int("amountCents"),
                let description = data.string("description")
            else { return }
            // The first OrderCreated of an order wins; a repeat (not possible in the domain) is ignored.
            try db.cachedStatement(sql: """
                INSERT INTO orders (order_id, user_id, user_state, status, amount_cents, description, created_at, updated_at)
                VALUES (?1, ?2, (SELECT state FROM users WHERE user_id = ?2), 'payment_pending', ?3, ?4, ?5, ?5)
                ON CONFLICT (order_id) DO NOTHING
                """).execute(arguments: [orderId, userId, amountCents, description, event.recordedAt])
        case "PaymentConfirmed", "OrderShipped", "OrderCancelled":
            guard let data = OrdersEventFields(event), let orderId = data.string("orderId"),
                let status = OrdersEventFields.status(after: event.type)
            else { return }
            try db.cachedStatement(sql: "UPDATE orders SET status = ?, updated_at = ? WHERE order_id = ?")
                .execute(arguments: [status, event.recordedAt, orderId])
        default:
            return
        }
    }

    /// Sets `user_state` on the user's orders, touching only the rows that change.
    private func moveOrders(of userId: String, to state: String, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE orders SET user_state = ?1 WHERE user_id = ?2 AND user_state IS NOT ?1")
            .execute(arguments: [state, userId])
    }
}

import EventStore
import GRDB
import ProjectionRuntime
import WireProtocol

/// The relational orders read model: every order with its user's current state, in SQLite
/// (`orders.sqlite`), answering `order`, `ordersByStatus`, `ordersByUser` and `countByStatus`.
///
/// Schema (layout 2; a file of another layout is rebuilt from the log):
///
/// - `users(user_id PK, name, state)` (`WITHOUT ROWID`): `name` is NULL for a user first seen by
///   an address change.
/// - `orders(seq INTEGER PK, order_id UNIQUE, user_id, status, amount_cents, description, created_at, updated_at)`:
///   keyed in arrival order, so a new order appends to the table's last page; `created_at` /
///   `updated_at` are the recorded time (ns since the epoch) of the order's first and latest event.
/// - indexes `orders_by_status(status, amount_cents, order_id, user_id)` and
///   `orders_by_user(user_id, created_at, order_id)`.
/// - `status_counts(status, user_state, n)`: orders per status and user state (`''` for an
///   unknown user), so `countByStatus` reads a few rows instead of every order.
///
/// A user's state lives only in `users` and queries join it: an address change then writes one
/// user row and moves the user's counts (a read of the user's orders), instead of rewriting
/// every order of the user and its index entries — which made the orders model the slowest to
/// catch up when each order carried its user's state.
///
/// It takes every category (users and orders) and ignores event types it does not know,
/// and events of a known type whose data lacks a field it needs.
public final class OrdersProjection: SQLiteProjection {
    public static let fileName = "orders.sqlite"
    static let schemaVersion = 2

    public let category: String? = nil
    public var queryNames: [String] { OrdersQueryRules.queryNames }

    public let model: SQLiteReadModel

    /// Opens (creating) `<directory>/orders.sqlite`.
    ///
    /// - Throws: a file-system or SQLite error when the directory or database cannot be opened.
    public init(directory: String) throws {
        model = try SQLiteReadModel(
            directory: directory, fileName: Self.fileName, tables: ["orders", "users", "status_counts"],
            schemaVersion: Self.schemaVersion, deferredIndexes: [Self.ordersByStatusIndex], schema: Self.createSchema)
    }

    /// Only `ordersByStatus` reads it, and every status change moves an order in it: a model built
    /// from empty builds it at the head (`SQLiteReadModel`'s deferred indexes). `orders_by_user`
    /// is not deferred: an address change counts a user's orders by status through it.
    static let ordersByStatusIndex = DeferredIndex(name: "orders_by_status", on: "orders (status, amount_cents, order_id, user_id)")

    static func createSchema(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS users (
                user_id TEXT PRIMARY KEY NOT NULL,
                name TEXT,
                state TEXT NOT NULL
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS orders (
                seq INTEGER PRIMARY KEY,
                order_id TEXT NOT NULL UNIQUE,
                user_id TEXT NOT NULL,
                status TEXT NOT NULL,
                amount_cents INTEGER NOT NULL,
                description TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS orders_by_user ON orders (user_id, created_at, order_id);
            CREATE TABLE IF NOT EXISTS status_counts (
                status TEXT NOT NULL,
                user_state TEXT NOT NULL,
                n INTEGER NOT NULL,
                PRIMARY KEY (status, user_state)
            ) WITHOUT ROWID;
            """)
    }

    /// The orders with their user's state, as the queries see them.
    static let ordersWithState = "orders LEFT JOIN users ON users.user_id = orders.user_id"

    /// A digest of everything a query reads: users, orders with their user's state and the counts
    /// `countByStatus` sums (a count of zero reads like a missing row, so only the others).
    public func digest() throws -> String {
        try model.digest(Self.digestQueries)
    }

    /// The digest's SELECTs; the PostgreSQL model runs the same ones, so equal models digest alike.
    static let digestQueries = [
        "SELECT user_id, name, state FROM users ORDER BY user_id",
        "SELECT \(orderColumns) FROM \(ordersWithState) ORDER BY order_id",
        "SELECT status, user_state, n FROM status_counts WHERE n != 0 ORDER BY status, user_state",
    ]

    // MARK: - Applying events

    public func apply(_ event: RecordedEvent, _ db: Database) throws {
        switch event.type {
        case "UserRegistered", "UserAddressChanged":
            let registered = event.type == "UserRegistered"
            guard let data = OrdersEventFields(event), data.hasString(.userId), let state = data.string(.state),
                !registered || data.hasString(.name)
            else { return }
            let previous = try userState(data, db)
            // An address change of a user not seen before creates the user without a name.
            let upsert = try RawStatement(db, sql: registered ? """
                INSERT INTO users (user_id, name, state) VALUES (?1, ?3, ?2)
                ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, state = excluded.state
                """ : """
                INSERT INTO users (user_id, name, state) VALUES (?1, NULL, ?2)
                ON CONFLICT (user_id) DO UPDATE SET state = excluded.state
                """)
            upsert.bind(.userId, of: data, at: 1)
            upsert.bind(state, at: 2)
            if registered { upsert.bind(.name, of: data, at: 3) }
            try upsert.run()
            // Orders placed before the user was known (not possible in the domain, but a log from
            // elsewhere may hold them) count under '' until now.
            if previous != state { try moveCounts(data, from: previous ?? "", to: state, db) }
        case "OrderCreated":
            guard let data = OrdersEventFields(event), data.hasString(.orderId), data.hasString(.userId),
                let amountCents = data.int(.amountCents), data.hasString(.description)
            else { return }
            // The first OrderCreated of an order wins; a repeat (not possible in the domain) is ignored.
            let insert = try RawStatement(db, sql: """
                INSERT INTO orders (order_id, user_id, status, amount_cents, description, created_at, updated_at)
                VALUES (?, ?, 'payment_pending', ?, ?, ?5, ?5)
                ON CONFLICT (order_id) DO NOTHING
                """)
            insert.bind(.orderId, of: data, at: 1)
            insert.bind(.userId, of: data, at: 2)
            insert.bind(amountCents, at: 3)
            insert.bind(.description, of: data, at: 4)
            insert.bind(event.recordedAt, at: 5)
            try insert.run()
            guard db.changesCount == 1 else { return }
            try count(data, "payment_pending", by: 1, db)
        case "PaymentConfirmed", "OrderShipped", "OrderCancelled":
            guard let data = OrdersEventFields(event), data.hasString(.orderId),
                let status = OrdersEventFields.status(after: event.type)
            else { return }
            // The order's user (for the counts) and old status, then the change.
            let find = try RawStatement(db, sql: "SELECT status, user_id FROM orders WHERE order_id = ?")
            find.bind(.orderId, of: data, at: 1)
            defer { find.reset() }
            guard try find.step() else { return }
            let previous = find.string(0)
            let userId = find.string(1)
            find.reset()
            let update = try RawStatement(db, sql: "UPDATE orders SET status = ?, updated_at = ? WHERE order_id = ?")
            update.bind(status, at: 1)
            update.bind(event.recordedAt, at: 2)
            update.bind(.orderId, of: data, at: 3)
            try update.run()
            let state = try userState(userId, db) ?? ""
            try addCount(previous, state, -1, db)
            try addCount(status, state, 1, db)
        default:
            return
        }
    }

    /// The user's current state, or nil for a user not seen yet.
    private func userState(_ data: OrdersEventFields, _ db: Database) throws -> String? {
        let find = try RawStatement(db, sql: "SELECT state FROM users WHERE user_id = ?")
        find.bind(.userId, of: data, at: 1)
        defer { find.reset() }
        return try find.step() ? find.string(0) : nil
    }

    private func userState(_ userId: String, _ db: Database) throws -> String? {
        let find = try RawStatement(db, sql: "SELECT state FROM users WHERE user_id = ?")
        find.bind(userId, at: 1)
        defer { find.reset() }
        return try find.step() ? find.string(0) : nil
    }

    /// Adds `delta` to the count of `status` under the event's user's current state.
    private func count(_ data: OrdersEventFields, _ status: String, by delta: Int64, _ db: Database) throws {
        try addCount(status, try userState(data, db) ?? "", delta, db)
    }

    private func addCount(_ status: String, _ state: String, _ delta: Int64, _ db: Database) throws {
        let add = try RawStatement(db, sql: """
            INSERT INTO status_counts (status, user_state, n) VALUES (?, ?, ?)
            ON CONFLICT (status, user_state) DO UPDATE SET n = n + excluded.n
            """)
        add.bind(status, at: 1)
        add.bind(state, at: 2)
        add.bind(delta, at: 3)
        try add.run()
    }

    /// Moves the counts of the user's orders from one user state to another.
    private func moveCounts(_ data: OrdersEventFields, from previous: String, to state: String, _ db: Database) throws {
        let perStatus = try RawStatement(db, sql: "SELECT status, COUNT(*) FROM orders WHERE user_id = ? GROUP BY status")
        perStatus.bind(.userId, of: data, at: 1)
        var moved: [(String, Int64)] = []
        defer { perStatus.reset() }
        while try perStatus.step() { moved.append((perStatus.string(0), perStatus.int64(1))) }
        perStatus.reset()
        for (status, n) in moved {
            try addCount(status, previous, -n, db)
            try addCount(status, state, n, db)
        }
    }
}

extension RawStatement {
    /// Binds an event's string field as text; binds NULL when the field is missing or not a string
    /// (callers check for it first).
    func bind(_ key: OrdersEventFields.Key, of fields: OrdersEventFields, at index: Int32) {
        if fields.withUTF8(key, { bind(text: $0, at: index) }) == nil { bindNull(at: index) }
    }
}

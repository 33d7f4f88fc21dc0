import EventStore
import GRDB
import ProjectionRuntime
import WireProtocol

/// The full-text read model: order descriptions in SQLite FTS5 (`search.sqlite`), with each
/// order's current status, answering `search`.
///
/// Schema:
///
/// - `search_orders(doc_id INTEGER PK, order_id UNIQUE, user_id, status, amount_cents, description)`:
///   one row per order; status events update `status` only.
/// - `search_fts`: an FTS5 index over `description` (tokenizer `unicode61 remove_diacritics 2`)
///   whose content is `search_orders` (external content, `content_rowid = doc_id`). A description
///   never changes after `OrderCreated`, so it is indexed once and status changes cost no FTS work.
/// - `search_vocab`: an `fts5vocab` view of the index (each term, the documents holding it and its
///   occurrences), read only by the digest: `search` answers from the index, not from
///   `search_orders.description`, so an index that drifted from its rows must change the digest.
///
/// It takes the `order` category and ignores other event types and events of a known type
/// whose data lacks a field it needs.
public final class SearchProjection: SQLiteProjection {
    public static let fileName = "search.sqlite"

    public let category: String? = "order"
    public let queryNames = ["search"]

    public let model: SQLiteReadModel

    /// Opens (creating) `<directory>/search.sqlite`.
    ///
    /// - Throws: a file-system or SQLite error when the directory or database cannot be opened.
    public init(directory: String) throws {
        model = try SQLiteReadModel(
            directory: directory, fileName: Self.fileName, tables: ["search_vocab", "search_fts", "search_orders"],
            schema: Self.createSchema)
    }

    static func createSchema(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS search_orders (
                doc_id INTEGER PRIMARY KEY,
                order_id TEXT NOT NULL UNIQUE,
                user_id TEXT NOT NULL,
                status TEXT NOT NULL,
                amount_cents INTEGER NOT NULL,
                description TEXT NOT NULL
            );
            CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
                description, content = 'search_orders', content_rowid = 'doc_id',
                tokenize = 'unicode61 remove_diacritics 2'
            );
            CREATE VIRTUAL TABLE IF NOT EXISTS search_vocab USING fts5vocab(search_fts, row);
            """)
    }

    /// A digest of the rows and of the index itself (term, documents, occurrences).
    public func digest() throws -> String {
        try model.digest([
            "SELECT order_id, status, description, amount_cents, user_id FROM search_orders ORDER BY order_id",
            "SELECT term, doc, cnt FROM search_vocab ORDER BY term",
        ])
    }

    // MARK: - Applying events

    public func apply(_ event: RecordedEvent, _ db: Database) throws {
        switch event.type {
        case "OrderCreated":
            guard let data = OrdersEventFields(event), data.hasString(.orderId), data.hasString(.userId),
                let amountCents = data.int(.amountCents), data.hasString(.description)
            else { return }
            // The first OrderCreated of an order wins; a repeat (not possible in the domain) is ignored.
            let insert = try RawStatement(db, sql: """
                INSERT INTO search_orders (order_id, user_id, status, amount_cents, description)
                VALUES (?, ?, 'payment_pending', ?, ?) ON CONFLICT (order_id) DO NOTHING
                """)
            insert.bind(.orderId, of: data, at: 1)
            insert.bind(.userId, of: data, at: 2)
            insert.bind(amountCents, at: 3)
            insert.bind(.description, of: data, at: 4)
            try insert.run()
            guard db.changesCount == 1 else { return }
            let index = try RawStatement(db, sql: "INSERT INTO search_fts (rowid, description) VALUES (?, ?)")
            index.bind(db.lastInsertedRowID, at: 1)
            index.bind(.description, of: data, at: 2)
            try index.run()
        case "PaymentConfirmed", "OrderShipped", "OrderCancelled":
            guard let data = OrdersEventFields(event), data.hasString(.orderId),
                let status = OrdersEventFields.status(after: event.type)
            else { return }
            let update = try RawStatement(db, sql: "UPDATE search_orders SET status = ? WHERE order_id = ?")
            update.bind(status, at: 1)
            update.bind(.orderId, of: data, at: 2)
            try update.run()
        default:
            return
        }
    }
}

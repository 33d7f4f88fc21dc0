import EventStore
import PostgresNIO
import PostgresStore
import ProjectionRuntime
import WireProtocol

/// The full-text read model in PostgreSQL: the stand-in for the seed's Elasticsearch (which
/// cannot be installed here), answering `search` with the same hits as the embedded
/// `SearchProjection` (scores and snippets differ: docs/QUERIES.md, § 6).
///
/// Schema (in the copy's own schema, `prism_search_g<n>`):
///
/// - `search_orders(order_id PK, created_position, user_id, status, amount_cents, description, words)`:
///   one row per order; `words` is a `tsvector` of the description's folded words (below), with
///   a GIN index built once the model reached the head (`reachedHead`: keeping it through a
///   catch-up costs more than one build). Status events update `status` only, a column no index
///   holds, so the update is HOT (`fillfactor` leaves room) and costs no GIN work.
/// - `search_headline`: a text search configuration (`simple`, plus `unaccent` when the server
///   has it) that `ts_headline` uses to find the matches in the original description.
///
/// Matching the same words as FTS5's `unicode61 remove_diacritics 2`: the words are cut and
/// folded in Swift (`SearchText.allWords`, `SearchText.folded`: runs of letters and digits,
/// lowercased, combining marks removed), for the description when it is indexed and for the
/// query's text, and the server only indexes those space-separated folded words with the
/// `simple` configuration (no stemming, no stop words). PostgreSQL's own parser and `unaccent`
/// would not give FTS5's words: the parser keeps `example.com`, `2.5` or `a/b` as one token
/// where FTS5 sees two words, and `unaccent` turns `ß` into `ss` where FTS5 keeps it; and both
/// would depend on the server's locale and extensions.
///
/// Events are read in Swift with `OrdersEventFields` (the embedded model's reader) and sent as
/// `{"k": "c"|"s", "p", "o", "u", "a", "d", "w", "s"}`, so both models ignore the same malformed
/// events; `prism_apply_events` applies a batch set-wise in the embedded model's order: the first
/// `OrderCreated` of an order wins, and a status change applies to an order created before it.
/// PostgreSQL text cannot hold U+0000: a description is stored up to its first NUL (which is what
/// the embedded model returns, its words after the NUL still indexed), and an event whose order or
/// user id holds one is ignored (ids from the write node never do).
public final class PostgresSearchProjection: PostgresProjection {
    public let category: String? = "order"
    public let queryNames = ["search"]

    public let model: PostgresReadModel

    /// Opens the copy of `directory`'s generation in `settings`' PostgreSQL server. Touches no
    /// network: the schema is created on the first call that connects.
    ///
    /// - Throws: `ProjectorError` when the URL is missing or invalid, or `directory` is not a generation's.
    public init(settings: StoreSettings, directory: String) throws {
        model = try PostgresReadModel(settings: settings, projector: "search", directory: directory, layout: Self.layout)
    }

    static let layout = PostgresReadModel.Layout(version: 1, tables: tables, functions: [applyEvents], deferredIndexes: [
        "CREATE INDEX IF NOT EXISTS search_orders_words ON search_orders USING gin (words)",
    ])

    private static let tables = [
        """
        CREATE TABLE search_orders (
            order_id text COLLATE "C" PRIMARY KEY,
            created_position bigint NOT NULL,
            user_id text NOT NULL,
            status text NOT NULL,
            amount_cents bigint NOT NULL,
            description text NOT NULL,
            words tsvector NOT NULL
        ) WITH (fillfactor = 80)
        """,
        // The extension is the database's, not this schema's (dropping a replaced copy must not
        // drop it); a server without it, or a user who may not create it, still gets snippets,
        // only without diacritic-insensitive marks.
        """
        DO $$ BEGIN
            CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;
        EXCEPTION WHEN others THEN NULL;
        END $$
        """,
        """
        DO $$ DECLARE dictionary text; BEGIN
            CREATE TEXT SEARCH CONFIGURATION search_headline (COPY = pg_catalog.simple);
            SELECT format('%I.unaccent', n.nspname) INTO dictionary
            FROM pg_ts_dict d JOIN pg_namespace n ON n.oid = d.dictnamespace WHERE d.dictname = 'unaccent' LIMIT 1;
            IF dictionary IS NOT NULL THEN
                EXECUTE 'ALTER TEXT SEARCH CONFIGURATION search_headline ALTER MAPPING FOR asciiword, word, numword, '
                    || 'asciihword, hword, numhword, hword_asciipart, hword_part, hword_numpart WITH '
                    || dictionary || ', pg_catalog.simple';
            END IF;
        END $$
        """,
    ]

    private static let applyEvents = """
    CREATE OR REPLACE FUNCTION prism_apply_events(batch jsonb) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        -- In position order, so that the first OrderCreated of an order wins.
        INSERT INTO search_orders (order_id, created_position, user_id, status, amount_cents, description, words)
        SELECT e.o, e.p, e.u, 'payment_pending', e.a, e.d, to_tsvector('simple', e.w)
        FROM jsonb_to_recordset(batch) AS e(k text, p bigint, o text, u text, a bigint, d text, w text)
        WHERE e.k = 'c' AND e.o IS NOT NULL AND e.u IS NOT NULL AND e.a IS NOT NULL AND e.d IS NOT NULL AND e.w IS NOT NULL
        ORDER BY e.p
        ON CONFLICT (order_id) DO NOTHING;
        -- An order's last status change in the batch wins, unless it came before the order's
        -- creation (the embedded model would have found no row to update).
        UPDATE search_orders o SET status = last.s
        FROM (
            SELECT DISTINCT ON (e.o) e.o, e.p, e.s
            FROM jsonb_to_recordset(batch) AS e(k text, p bigint, o text, s text)
            WHERE e.k = 's' AND e.o IS NOT NULL AND e.s IS NOT NULL
            ORDER BY e.o, e.p DESC
        ) last
        WHERE o.order_id = last.o AND last.p > o.created_position;
    END
    $$
    """

    /// Writes what `prism_apply_events` needs of `event`, or nothing when the model ignores it.
    public static func write(_ event: RecordedEvent, into batch: inout PostgresEventBatch) {
        switch event.type {
        case "OrderCreated":
            guard let data = OrdersEventFields(event), let orderId = data.string(.orderId), let userId = data.string(.userId),
                let amountCents = data.int(.amountCents), let description = data.string(.description),
                !orderId.utf8.contains(0), !userId.utf8.contains(0)
            else { return }
            batch.append { object in
                object.string("k", "c")
                object.int("p", event.position)
                object.string("o", orderId)
                object.string("u", userId)
                object.int("a", amountCents)
                // Up to the first NUL, as the embedded model returns it (SQLite reads text up to it).
                object.string("d", description.utf8.contains(0) ? String(description.prefix { $0 != "\0" }) : description)
                object.string("w", SearchText.folded(SearchText.allWords(in: description)))
            }
        case "PaymentConfirmed", "OrderShipped", "OrderCancelled":
            guard let data = OrdersEventFields(event), let orderId = data.string(.orderId), !orderId.utf8.contains(0),
                let status = OrdersEventFields.status(after: event.type)
            else { return }
            batch.append { object in
                object.string("k", "s")
                object.int("p", event.position)
                object.string("o", orderId)
                object.string("s", status)
            }
        default:
            return
        }
    }

    /// A digest of the rows, the indexed words included (`words` is what `search` matches).
    public func digest() throws -> String {
        try model.digest([
            "SELECT order_id, status, description, amount_cents, user_id, words::text FROM search_orders ORDER BY order_id",
        ])
    }

    /// Answers `search` as `SearchProjection` does (`SearchRequest`: same parameters, same
    /// errors, same hits), with PostgreSQL's ranking and snippets.
    ///
    /// A hit must hold every folded word of `text` (`plainto_tsquery` over the folded words: only
    /// words, never operators). `score` is `ts_rank_cd(words, query, 2)`: cover density divided
    /// by the description's length in words, so, as with bm25, more and closer matches in a
    /// shorter description score higher; equal scores order by `orderId` (byte order, as SQLite's).
    /// `snippet` is `ts_headline`'s, each match in `[` `]`, at most 16 words.
    ///
    /// - Throws: `WireError` `.unknownQuery` or `.invalidArgument`; `.unavailable` when the server
    ///   cannot be reached.
    public func query(_ name: String, params: JSONValue) throws -> JSONValue {
        let request = try SearchRequest(name, params: params, queryNames: queryNames)
        let words = SearchText.folded(request.words)
        // The headline is computed for the hits only, after the limit.
        let rows = try model.rows("""
            SELECT h.order_id, h.user_id, h.status, h.amount_cents, h.description,
                   ts_headline('search_headline', h.description, h.query,
                               'StartSel=[, StopSel=], MaxWords=16, MinWords=8, ShortWord=0, MaxFragments=1, FragmentDelimiter=" … "'),
                   h.score
            FROM (
                SELECT o.*, q.query, ts_rank_cd(o.words, q.query, 2)::float8 AS score
                FROM search_orders o, plainto_tsquery('simple', \(words)) AS q(query)
                WHERE o.words @@ q.query AND (\(request.status)::text IS NULL OR o.status = \(request.status))
                ORDER BY score DESC, o.order_id
                LIMIT \(request.limit)
            ) h
            ORDER BY h.score DESC, h.order_id
            """)
        return [
            "hits": .array(try rows.map { row in
                let (orderId, userId, status, amountCents, description, snippet, score) =
                    try row.decode((String, String, String, Int64, String, String, Double).self)
                return SearchRequest.hit(
                    orderId: orderId, userId: userId, status: status, amountCents: amountCents, description: description,
                    snippet: snippet, score: score)
            }),
        ]
    }
}

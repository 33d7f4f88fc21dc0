import EventStore
import PostgresNIO
import PostgresStore
import ProjectionRuntime
import WireProtocol

/// Each user's orders per calendar month in PostgreSQL, laid out as the seed's Cassandra time
/// series would be (Cassandra cannot be installed here; this is its stand-in): answers `monthly`
/// with exactly the embedded `HistoryProjection`'s JSON, for every query and every error.
///
/// Tables (in the copy's own schema, `prism_history_g<n>`), both keyed user first like a
/// Cassandra partition (`user_id`) with clustering columns (`month`, then `position`), so that
/// `monthly` is one range read of one user's months, in order:
///
/// - `history_months (user_id, month, count, total_cents, cancelled_count, cancelled_cents)`,
///   primary key `(user_id, month)`;
/// - `history_orders (user_id, month, position, order_id, amount_cents, created_at, cancelled)`,
///   primary key `(user_id, month, position)`, `order_id` unique (the lookup a cancellation
///   needs: a second table keyed by order id, in Cassandra).
///
/// `month` is `YYYY-MM` (UTC) of the event's `recordedAt`, computed by `history_month` with
/// integer floor division and PostgreSQL's proleptic Gregorian dates, as `HistoryMonth` does.
/// The rules are `HistoryProjection`'s: a creation counts in its month (the first one of an
/// order wins), a cancellation adds to the creation month's cancelled figures once, and nothing
/// else changes a month. Events are read in Swift with `OrdersEventFields` (the embedded model's
/// reader), so both ignore the same malformed events, and sent as `{"k": "c"|"x", "p", "o", "u",
/// "a", "r"}`; `prism_apply_events` applies a batch set-wise in the embedded model's order (a
/// cancellation counts only for an order created before it). An event whose order or user id
/// holds U+0000, which PostgreSQL text cannot store, is ignored (ids from the write node never do).
public final class PostgresHistoryProjection: PostgresProjection {
    public let category: String? = "order"
    public let queryNames = ["monthly"]

    public let model: PostgresReadModel

    /// Opens the copy of `directory`'s generation in `settings`' PostgreSQL server. Touches no
    /// network: the schema is created on the first call that connects.
    ///
    /// - Throws: `ProjectorError` when the URL is missing or invalid, or `directory` is not a generation's.
    public init(settings: StoreSettings, directory: String) throws {
        model = try PostgresReadModel(settings: settings, projector: "history", directory: directory, layout: Self.layout)
    }

    static let layout = PostgresReadModel.Layout(version: 1, tables: tables, functions: functions)

    private static let tables = [
        """
        CREATE TABLE history_months (
            user_id text COLLATE "C" NOT NULL,
            month text COLLATE "C" NOT NULL,
            count bigint NOT NULL,
            total_cents bigint NOT NULL,
            cancelled_count bigint NOT NULL,
            cancelled_cents bigint NOT NULL,
            PRIMARY KEY (user_id, month)
        )
        """,
        """
        CREATE TABLE history_orders (
            user_id text COLLATE "C" NOT NULL,
            month text COLLATE "C" NOT NULL,
            position bigint NOT NULL,
            order_id text COLLATE "C" NOT NULL UNIQUE,
            amount_cents bigint NOT NULL,
            created_at bigint NOT NULL,
            cancelled boolean NOT NULL DEFAULT false,
            PRIMARY KEY (user_id, month, position)
        )
        """,
    ]

    private static let functions = [
        // Floor division (bigint `/` truncates toward zero), so that instants before 1970 fall in
        // the day they belong to; `date + integer` counts days in the proleptic Gregorian calendar.
        """
        CREATE OR REPLACE FUNCTION history_month(nanoseconds bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT to_char(
                date '1970-01-01' + (nanoseconds / 86400000000000 - CASE WHEN nanoseconds % 86400000000000 < 0 THEN 1 ELSE 0 END)::integer,
                'YYYY-MM')
        $$
        """,
        """
        CREATE OR REPLACE FUNCTION prism_apply_events(batch jsonb) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            -- Creations in position order (the first of an order wins), then each month's
            -- figures grow by what was inserted.
            WITH created AS (
                INSERT INTO history_orders (user_id, month, position, order_id, amount_cents, created_at)
                SELECT e.u, history_month(e.r), e.p, e.o, e.a, e.r
                FROM jsonb_to_recordset(batch) AS e(k text, p bigint, o text, u text, a bigint, r bigint)
                WHERE e.k = 'c' AND e.o IS NOT NULL AND e.u IS NOT NULL AND e.a IS NOT NULL AND e.r IS NOT NULL
                ORDER BY e.p
                ON CONFLICT DO NOTHING
                RETURNING user_id, month, amount_cents
            )
            INSERT INTO history_months AS m (user_id, month, count, total_cents, cancelled_count, cancelled_cents)
            SELECT user_id, month, count(*), sum(amount_cents), 0, 0 FROM created GROUP BY user_id, month
            ON CONFLICT (user_id, month) DO UPDATE
                SET count = m.count + excluded.count, total_cents = m.total_cents + excluded.total_cents;
            -- An order not yet cancelled is cancelled by any cancellation after its creation,
            -- once; its creation month's cancelled figures grow by it.
            WITH cancelled AS (
                UPDATE history_orders h SET cancelled = true
                FROM (
                    SELECT e.o, max(e.p) AS p FROM jsonb_to_recordset(batch) AS e(k text, p bigint, o text)
                    WHERE e.k = 'x' AND e.o IS NOT NULL GROUP BY e.o
                ) c
                WHERE h.order_id = c.o AND NOT h.cancelled AND c.p > h.position
                RETURNING h.user_id, h.month, h.amount_cents
            )
            UPDATE history_months m
            SET cancelled_count = m.cancelled_count + c.count, cancelled_cents = m.cancelled_cents + c.cents
            FROM (SELECT user_id, month, count(*) AS count, sum(amount_cents) AS cents FROM cancelled GROUP BY user_id, month) c
            WHERE m.user_id = c.user_id AND m.month = c.month;
        END
        $$
        """,
    ]

    /// Writes what `prism_apply_events` needs of `event`, or nothing when the model ignores it.
    public static func write(_ event: RecordedEvent, into batch: inout PostgresEventBatch) {
        switch event.type {
        case "OrderCreated":
            guard let data = OrdersEventFields(event), let orderId = data.string(.orderId), let userId = data.string(.userId),
                let amountCents = data.int(.amountCents), !orderId.utf8.contains(0), !userId.utf8.contains(0)
            else { return }
            batch.append { object in
                object.string("k", "c")
                object.int("p", event.position)
                object.string("o", orderId)
                object.string("u", userId)
                object.int("a", amountCents)
                object.int("r", event.recordedAt)
            }
        case "OrderCancelled":
            guard let data = OrdersEventFields(event), let orderId = data.string(.orderId), !orderId.utf8.contains(0) else { return }
            batch.append { object in
                object.string("k", "x")
                object.int("p", event.position)
                object.string("o", orderId)
            }
        default:
            return  // other order events do not change a month's figures
        }
    }

    /// A digest of the months by user and month, then the orders by order id.
    public func digest() throws -> String {
        try model.digest([
            "SELECT user_id, month, count, total_cents, cancelled_count, cancelled_cents FROM history_months ORDER BY user_id, month",
            "SELECT order_id, user_id, month, position, amount_cents, created_at, cancelled FROM history_orders ORDER BY order_id",
        ])
    }

    /// Answers `monthly {userId, from, to}` exactly as `HistoryProjection` does (`MonthlyRequest`),
    /// from one range read of the user's months joined with their orders.
    ///
    /// - Throws: `WireError` `.unknownQuery` or `.invalidArgument`; `.unavailable` when the server
    ///   cannot be reached.
    public func query(_ name: String, params: JSONValue) throws -> JSONValue {
        let request = try MonthlyRequest(name, params: params, queryNames: queryNames)
        let rows = try model.rows("""
            SELECT m.month, m.count, m.total_cents, m.cancelled_count, m.cancelled_cents,
                   o.order_id, o.amount_cents, o.created_at, o.cancelled
            FROM history_months m JOIN history_orders o ON o.user_id = m.user_id AND o.month = m.month
            WHERE m.user_id = \(request.userId) AND m.month BETWEEN \(request.from.text) AND \(request.to.text)
            ORDER BY m.month, o.position
            """)
        var months: [JSONValue] = []
        var current: (month: String, figures: (Int64, Int64, Int64, Int64), orders: [JSONValue])?
        func finishMonth() {
            guard let month = current else { return }
            let (count, totalCents, cancelledCount, cancelledCents) = month.figures
            months.append(MonthlyRequest.month(
                month.month, count: count, totalCents: totalCents, cancelledCount: cancelledCount, cancelledCents: cancelledCents,
                orders: month.orders))
        }
        for row in rows {
            let (month, count, totalCents, cancelledCount, cancelledCents, orderId, amountCents, createdAt, cancelled) =
                try row.decode((String, Int64, Int64, Int64, Int64, String, Int64, Int64, Bool).self)
            if current?.month != month {
                finishMonth()
                current = (month, (count, totalCents, cancelledCount, cancelledCents), [])
            }
            current?.orders.append(MonthlyRequest.order(orderId: orderId, amountCents: amountCents, createdAt: createdAt, cancelled: cancelled))
        }
        finishMonth()
        return request.result(months)
    }
}

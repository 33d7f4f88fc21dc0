import PostgresStore

extension PostgresOrdersProjection {
    /// The embedded model's schema (layout 2) in PostgreSQL; `orders` is keyed by `order_id`
    /// (a heap table appends in arrival order without a sequence).
    static let layout = PostgresReadModel.Layout(
        version: 2,
        tables: [
            """
            CREATE TABLE users (
                user_id text COLLATE "C" PRIMARY KEY,
                name text,
                state text COLLATE "C" NOT NULL
            )
            """,
            """
            CREATE TABLE orders (
                order_id text COLLATE "C" PRIMARY KEY,
                user_id text COLLATE "C" NOT NULL,
                status text COLLATE "C" NOT NULL,
                amount_cents bigint NOT NULL,
                description text NOT NULL,
                created_at bigint NOT NULL,
                updated_at bigint NOT NULL
            )
            """,
            // Not deferred: an address change counts the user's orders by status through it.
            "CREATE INDEX orders_by_user ON orders (user_id, created_at, order_id)",
            """
            CREATE TABLE status_counts (
                status text COLLATE "C" NOT NULL,
                user_state text COLLATE "C" NOT NULL,
                n bigint NOT NULL,
                PRIMARY KEY (status, user_state)
            )
            """,
        ],
        functions: [applyEvents],
        deferredIndexes: ["CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, amount_cents, order_id, user_id)"])

    /// `OrdersProjection.apply`, event by event, over the objects `write(_:into:)` makes: a field
    /// is absent (NULL here) when the event's data lacks it or has it of another type.
    static let applyEvents = """
        CREATE OR REPLACE FUNCTION prism_apply_events(events jsonb) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            e record;
            previous_state text;
            old_status text;
            order_user text;
        BEGIN
            FOR e IN SELECT * FROM jsonb_to_recordset(events) AS x(
                type text, recorded_at bigint, user_id text, name text, state text,
                order_id text, amount_cents bigint, description text, status text)
            LOOP
                IF e.type IN ('UserRegistered', 'UserAddressChanged') THEN
                    CONTINUE WHEN e.user_id IS NULL OR e.state IS NULL OR (e.type = 'UserRegistered' AND e.name IS NULL);
                    previous_state := (SELECT state FROM users WHERE user_id = e.user_id);
                    -- An address change of a user not seen before creates the user without a name.
                    IF e.type = 'UserRegistered' THEN
                        INSERT INTO users (user_id, name, state) VALUES (e.user_id, e.name, e.state)
                        ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, state = excluded.state;
                    ELSE
                        INSERT INTO users (user_id, name, state) VALUES (e.user_id, NULL, e.state)
                        ON CONFLICT (user_id) DO UPDATE SET state = excluded.state;
                    END IF;
                    -- Orders placed before the user was known count under '' until now. Moving
                    -- counts between equal states changes nothing (and one INSERT may not touch
                    -- a row twice).
                    IF coalesce(previous_state, '') <> e.state THEN
                        INSERT INTO status_counts (status, user_state, n)
                        SELECT counted.status, moved.user_state, counted.n * moved.sign
                        FROM (SELECT status, count(*) AS n FROM orders WHERE user_id = e.user_id GROUP BY status) AS counted
                        CROSS JOIN (VALUES (coalesce(previous_state, ''), -1), (e.state, 1)) AS moved(user_state, sign)
                        ON CONFLICT (status, user_state) DO UPDATE SET n = status_counts.n + excluded.n;
                    END IF;
                ELSIF e.type = 'OrderCreated' THEN
                    CONTINUE WHEN e.order_id IS NULL OR e.user_id IS NULL OR e.amount_cents IS NULL OR e.description IS NULL;
                    -- The first OrderCreated of an order wins; a repeat (not possible in the domain) is ignored.
                    INSERT INTO orders (order_id, user_id, status, amount_cents, description, created_at, updated_at)
                    VALUES (e.order_id, e.user_id, 'payment_pending', e.amount_cents, e.description, e.recorded_at, e.recorded_at)
                    ON CONFLICT (order_id) DO NOTHING;
                    CONTINUE WHEN NOT FOUND;
                    INSERT INTO status_counts (status, user_state, n)
                    VALUES ('payment_pending', coalesce((SELECT state FROM users WHERE user_id = e.user_id), ''), 1)
                    ON CONFLICT (status, user_state) DO UPDATE SET n = status_counts.n + excluded.n;
                ELSIF e.status IS NOT NULL THEN
                    CONTINUE WHEN e.order_id IS NULL;
                    SELECT status, user_id INTO old_status, order_user FROM orders WHERE order_id = e.order_id;
                    CONTINUE WHEN NOT FOUND;
                    UPDATE orders SET status = e.status, updated_at = e.recorded_at WHERE order_id = e.order_id;
                    CONTINUE WHEN old_status = e.status;
                    INSERT INTO status_counts (status, user_state, n)
                    SELECT changed.status, coalesce((SELECT state FROM users WHERE user_id = order_user), ''), changed.delta
                    FROM (VALUES (old_status, -1), (e.status, 1)) AS changed(status, delta)
                    ON CONFLICT (status, user_state) DO UPDATE SET n = status_counts.n + excluded.n;
                END IF;
            END LOOP;
        END
        $$
        """
}

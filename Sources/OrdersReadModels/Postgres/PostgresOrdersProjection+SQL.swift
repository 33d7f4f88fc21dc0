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
    ///
    /// The count changes are summed in arrays and written once at the end: the same few
    /// `status_counts` rows change with nearly every event, and updating a row again and again in
    /// one transaction leaves a chain of versions that each later update walks.
    ///
    /// Each append is its own `a := a || x`: PL/pgSQL then extends the array in place, where
    /// `a := a || x || y` (or `SELECT a || array_agg(…) INTO a`) copies the whole array per
    /// event — quadratic in the batch, which made a 10,000-event catch-up batch 5× slower per event
    /// than a 1,000-event one.
    static let applyEvents = """
        CREATE OR REPLACE FUNCTION prism_apply_events(events jsonb) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            e record;
            previous_state text;
            old_status text;
            state_now text;
            count_status text[] := '{}';
            count_state text[] := '{}';
            count_delta bigint[] := '{}';
            counted record;
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
                    -- Orders placed before the user was known count under '' until now.
                    IF coalesce(previous_state, '') <> e.state THEN
                        FOR counted IN SELECT status, count(*) AS n FROM orders WHERE user_id = e.user_id GROUP BY status LOOP
                            count_status := count_status || counted.status;
                            count_state := count_state || coalesce(previous_state, '');
                            count_delta := count_delta || -counted.n;
                            count_status := count_status || counted.status;
                            count_state := count_state || e.state;
                            count_delta := count_delta || counted.n;
                        END LOOP;
                    END IF;
                ELSIF e.type = 'OrderCreated' THEN
                    CONTINUE WHEN e.order_id IS NULL OR e.user_id IS NULL OR e.amount_cents IS NULL OR e.description IS NULL;
                    -- The first OrderCreated of an order wins; a repeat (not possible in the domain) is ignored.
                    INSERT INTO orders (order_id, user_id, status, amount_cents, description, created_at, updated_at)
                    VALUES (e.order_id, e.user_id, 'payment_pending', e.amount_cents, e.description, e.recorded_at, e.recorded_at)
                    ON CONFLICT (order_id) DO NOTHING;
                    CONTINUE WHEN NOT FOUND;
                    count_status := count_status || 'payment_pending'::text;
                    state_now := coalesce((SELECT state FROM users WHERE user_id = e.user_id), '');
                    count_state := count_state || state_now;
                    count_delta := count_delta || 1::bigint;
                ELSIF e.status IS NOT NULL THEN
                    CONTINUE WHEN e.order_id IS NULL;
                    SELECT orders.status, coalesce(users.state, '') INTO old_status, state_now
                    FROM orders LEFT JOIN users ON users.user_id = orders.user_id WHERE orders.order_id = e.order_id;
                    CONTINUE WHEN NOT FOUND;
                    UPDATE orders SET status = e.status, updated_at = e.recorded_at WHERE order_id = e.order_id;
                    count_status := count_status || old_status;
                    count_state := count_state || state_now;
                    count_delta := count_delta || (-1)::bigint;
                    count_status := count_status || e.status;
                    count_state := count_state || state_now;
                    count_delta := count_delta || 1::bigint;
                END IF;
            END LOOP;
            INSERT INTO status_counts (status, user_state, n)
            SELECT changed.status, changed.user_state, sum(changed.delta)::bigint
            FROM unnest(count_status, count_state, count_delta) AS changed(status, user_state, delta)
            GROUP BY changed.status, changed.user_state
            ON CONFLICT (status, user_state) DO UPDATE SET n = status_counts.n + excluded.n;
        END
        $$
        """
}

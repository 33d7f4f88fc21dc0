-- The orders domain as plain, state-stored PostgreSQL tables: the rows are the truth, and every
-- rule of Sources/OrdersDomain (OrdersDomain.decide) is enforced here, inside the transaction that
-- changes the rows. Each function is one command; it raises a `Rejected` error (SQLSTATE PR001,
-- the domain's message) when a rule forbids it, and with the outbox on it writes the command's
-- event to `prism_outbox` in the SAME transaction, so the outbox row exists exactly when the change
-- committed (docs/OUTBOX.md). With the outbox off, the same tables feed CDC instead.
--
-- Idempotent: running it again on a database that has it changes nothing but the functions.

CREATE TABLE IF NOT EXISTS users (
    user_id text PRIMARY KEY CHECK (user_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
    name text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 200),
    state text NOT NULL CHECK (octet_length(state) BETWEEN 1 AND 100)
);

CREATE TABLE IF NOT EXISTS orders (
    order_id text PRIMARY KEY CHECK (order_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
    user_id text NOT NULL REFERENCES users,
    amount_cents bigint NOT NULL CHECK (amount_cents BETWEEN 1 AND 1000000000000),
    description text NOT NULL CHECK (octet_length(description) BETWEEN 1 AND 2000),
    status text NOT NULL CHECK (status IN ('payment_pending', 'paid', 'shipped', 'cancelled')),
    cancel_reason text CHECK (octet_length(cancel_reason) <= 500)
);

-- CDC needs the old row of an update (UserAddressChanged's previousState), not just its key.
ALTER TABLE users REPLICA IDENTITY FULL;
ALTER TABLE orders REPLICA IDENTITY FULL;

-- Whether the commands write outbox rows: one row, switched by orders_app_use_outbox(on). A table
-- rather than a session setting so that every connection of the application agrees.
CREATE TABLE IF NOT EXISTS orders_app_settings (
    single boolean PRIMARY KEY DEFAULT true CHECK (single),
    outbox boolean NOT NULL
);
INSERT INTO orders_app_settings (outbox) VALUES (true) ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION orders_app_use_outbox(enabled boolean) RETURNS void
LANGUAGE sql AS $$ UPDATE orders_app_settings SET outbox = enabled $$;

-- Appends one event to the outbox when it is on; returns its id (NULL when off), which the
-- application hands to the relay's positionOf to read its own write.
CREATE OR REPLACE FUNCTION orders_app_emit(stream text, type text, data jsonb) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    event_id uuid;
BEGIN
    IF NOT (SELECT outbox FROM orders_app_settings) THEN
        RETURN NULL;
    END IF;
    event_id := gen_random_uuid();
    INSERT INTO prism_outbox (id, stream, type, data) VALUES (event_id, stream, type, data);
    RETURN event_id;
END $$;

CREATE OR REPLACE FUNCTION orders_app_reject(message text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', message USING ERRCODE = 'PR001', HINT = 'Rejected';
END $$;

CREATE OR REPLACE FUNCTION register_user(p_user_id text, p_name text, p_state text) RETURNS uuid
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO users (user_id, name, state) VALUES (p_user_id, p_name, p_state) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        PERFORM orders_app_reject(format('user %s already exists', p_user_id));
    END IF;
    RETURN orders_app_emit('user-' || p_user_id, 'UserRegistered',
        jsonb_build_object('name', p_name, 'state', p_state, 'userId', p_user_id));
END $$;

CREATE OR REPLACE FUNCTION change_user_address(p_user_id text, p_state text) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    previous text;
BEGIN
    -- The row lock orders concurrent changes of one user: each sees the state the last one left.
    -- NO KEY: orders may still be placed for the user meanwhile (their foreign key takes KEY SHARE).
    SELECT state INTO previous FROM users WHERE user_id = p_user_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM orders_app_reject(format('user %s does not exist', p_user_id));
    END IF;
    UPDATE users SET state = p_state WHERE user_id = p_user_id;
    RETURN orders_app_emit('user-' || p_user_id, 'UserAddressChanged',
        jsonb_build_object('previousState', previous, 'state', p_state, 'userId', p_user_id));
END $$;

CREATE OR REPLACE FUNCTION place_order(p_order_id text, p_user_id text, p_amount_cents bigint, p_description text)
RETURNS uuid
LANGUAGE plpgsql AS $$
BEGIN
    -- KEY SHARE: the user cannot be deleted under us (what the foreign key takes too).
    PERFORM 1 FROM users WHERE user_id = p_user_id FOR KEY SHARE;
    IF NOT FOUND THEN
        PERFORM orders_app_reject(format('user %s does not exist', p_user_id));
    END IF;
    INSERT INTO orders (order_id, user_id, amount_cents, description, status)
    VALUES (p_order_id, p_user_id, p_amount_cents, p_description, 'payment_pending') ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        PERFORM orders_app_reject(format('order %s already exists', p_order_id));
    END IF;
    RETURN orders_app_emit('order-' || p_order_id, 'OrderCreated',
        jsonb_build_object('amountCents', p_amount_cents, 'description', p_description, 'orderId', p_order_id,
                           'status', 'payment_pending', 'userId', p_user_id));
END $$;

-- The order, locked until the transaction ends; rejected when there is none.
CREATE OR REPLACE FUNCTION orders_app_lock_order(p_order_id text) RETURNS orders
LANGUAGE plpgsql AS $$
DECLARE
    locked orders;
BEGIN
    SELECT * INTO locked FROM orders WHERE order_id = p_order_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM orders_app_reject(format('order %s does not exist', p_order_id));
    END IF;
    RETURN locked;
END $$;

-- Moves an order from `required` to `target` (the state machine's one step), under its row lock,
-- and emits `event_type`; the messages are OrdersDomain.require's.
CREATE OR REPLACE FUNCTION orders_app_advance(p_order_id text, required text, target text, verb text, event_type text)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    locked orders := orders_app_lock_order(p_order_id);
BEGIN
    IF locked.status = target THEN
        PERFORM orders_app_reject(format('order %s is already %s', p_order_id, target));
    ELSIF locked.status <> required THEN
        PERFORM orders_app_reject(format('order %s cannot be %s: it is %s (must be %s)',
                                         p_order_id, verb, locked.status, required));
    END IF;
    UPDATE orders SET status = target WHERE order_id = p_order_id;
    RETURN orders_app_emit('order-' || p_order_id, event_type,
        jsonb_build_object('orderId', p_order_id, 'status', target, 'userId', locked.user_id));
END $$;

CREATE OR REPLACE FUNCTION confirm_payment(p_order_id text) RETURNS uuid
LANGUAGE sql AS $$ SELECT orders_app_advance(p_order_id, 'payment_pending', 'paid', 'paid', 'PaymentConfirmed') $$;

CREATE OR REPLACE FUNCTION ship_order(p_order_id text) RETURNS uuid
LANGUAGE sql AS $$ SELECT orders_app_advance(p_order_id, 'paid', 'shipped', 'shipped', 'OrderShipped') $$;

CREATE OR REPLACE FUNCTION cancel_order(p_order_id text, p_reason text DEFAULT '') RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    locked orders := orders_app_lock_order(p_order_id);
BEGIN
    IF locked.status = 'cancelled' THEN
        PERFORM orders_app_reject(format('order %s is already cancelled', p_order_id));
    ELSIF locked.status = 'shipped' THEN
        PERFORM orders_app_reject(format('order %s cannot be cancelled: it is already shipped', p_order_id));
    END IF;
    UPDATE orders SET status = 'cancelled', cancel_reason = p_reason WHERE order_id = p_order_id;
    RETURN orders_app_emit('order-' || p_order_id, 'OrderCancelled',
        jsonb_build_object('orderId', p_order_id, 'reason', p_reason, 'status', 'cancelled', 'userId', locked.user_id));
END $$;

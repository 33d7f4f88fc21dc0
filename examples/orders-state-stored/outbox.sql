-- The transactional outbox the relay reads (docs/OUTBOX.md): one row per event, written in the
-- application's own transaction. `seq` is only a tie-break for rows of one transaction; the relay
-- never trusts it as commit order.
CREATE TABLE IF NOT EXISTS prism_outbox (
    seq bigserial,
    id uuid PRIMARY KEY,
    stream text NOT NULL,
    type text NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb,
    created_at timestamptz DEFAULT now()
);

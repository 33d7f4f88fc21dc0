-- The transactional outbox the relay reads (docs/OUTBOX.md, "The outbox table"), created by the
-- application's own migration so its commands work before the relay first starts; the relay adds
-- its index, its NOTIFY trigger (notifying only while the relay waits) and its own tables when it starts. `seq` is read order, never
-- taken for commit order.
CREATE TABLE IF NOT EXISTS prism_outbox (
    seq bigserial NOT NULL,
    id uuid PRIMARY KEY,
    stream text NOT NULL,
    type text NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The event bus (realtime.PostgresSchema): per-tenant sequences and the replay window.
CREATE TABLE realtime_sequences (
    tenant_id text PRIMARY KEY,
    seq bigint NOT NULL
);
CREATE TABLE realtime_events (
    tenant_id text NOT NULL,
    seq bigint NOT NULL,
    type text NOT NULL,
    subject text NOT NULL,
    data json,
    at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

-- The in-process event bus keeps each tenant's reserved sequence here (realtime.SQLiteSchema), so that sequence
-- numbers continue after a restart and a client resuming with one from before is told to resync.
CREATE TABLE realtime_sequences (
    tenant_id text PRIMARY KEY,
    seq integer NOT NULL
);

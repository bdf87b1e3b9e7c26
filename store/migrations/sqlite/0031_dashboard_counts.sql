-- Dashboard counters (package dashboard): see the Postgres file. SQLite
-- drops a table's triggers with the table: a later migration that rebuilds
-- conversations (new_conversations, DROP, RENAME: what migrategen writes for
-- a changed column) must create these three triggers again
-- (TestCountTriggersExist fails until it does).
CREATE TABLE dashboard_counts (
    tenant_id text NOT NULL,
    number_id text NOT NULL,
    assignee_id text NOT NULL,
    open bigint NOT NULL DEFAULT 0,
    unassigned bigint NOT NULL DEFAULT 0,
    waiting bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, number_id, assignee_id)
);
CREATE TABLE dashboard_deltas (
    id integer PRIMARY KEY,
    tenant_id text NOT NULL,
    number_id text NOT NULL,
    assignee_id text NOT NULL,
    open bigint NOT NULL,
    unassigned bigint NOT NULL,
    waiting bigint NOT NULL
);
CREATE INDEX dashboard_deltas_tenant ON dashboard_deltas (tenant_id);
INSERT INTO dashboard_counts (tenant_id, number_id, assignee_id, open, unassigned, waiting)
SELECT tenant_id, number_id, COALESCE(assignee_id, ''), COUNT(*),
    SUM(CASE WHEN assignee_id IS NULL THEN 1 ELSE 0 END),
    SUM(CASE WHEN last_customer_message_at = last_message_at THEN 1 ELSE 0 END)
FROM conversations WHERE status = 'OPEN' GROUP BY tenant_id, number_id, COALESCE(assignee_id, '');
CREATE TRIGGER dashboard_track_insert AFTER INSERT ON conversations WHEN NEW.status = 'OPEN'
BEGIN
    INSERT INTO dashboard_deltas (tenant_id, number_id, assignee_id, open, unassigned, waiting)
    VALUES (NEW.tenant_id, NEW.number_id, COALESCE(NEW.assignee_id, ''), 1,
        CASE WHEN NEW.assignee_id IS NULL THEN 1 ELSE 0 END,
        CASE WHEN NEW.last_customer_message_at = NEW.last_message_at THEN 1 ELSE 0 END);
END;
CREATE TRIGGER dashboard_track_delete AFTER DELETE ON conversations WHEN OLD.status = 'OPEN'
BEGIN
    INSERT INTO dashboard_deltas (tenant_id, number_id, assignee_id, open, unassigned, waiting)
    VALUES (OLD.tenant_id, OLD.number_id, COALESCE(OLD.assignee_id, ''), -1,
        CASE WHEN OLD.assignee_id IS NULL THEN -1 ELSE 0 END,
        CASE WHEN OLD.last_customer_message_at = OLD.last_message_at THEN -1 ELSE 0 END);
END;
CREATE TRIGGER dashboard_track_update AFTER UPDATE ON conversations
WHEN OLD.status IS NOT NEW.status OR OLD.tenant_id IS NOT NEW.tenant_id OR OLD.number_id IS NOT NEW.number_id
    OR OLD.assignee_id IS NOT NEW.assignee_id
    OR COALESCE(OLD.last_customer_message_at = OLD.last_message_at, 0) IS NOT COALESCE(NEW.last_customer_message_at = NEW.last_message_at, 0)
BEGIN
    INSERT INTO dashboard_deltas (tenant_id, number_id, assignee_id, open, unassigned, waiting)
    SELECT OLD.tenant_id, OLD.number_id, COALESCE(OLD.assignee_id, ''), -1,
        CASE WHEN OLD.assignee_id IS NULL THEN -1 ELSE 0 END,
        CASE WHEN OLD.last_customer_message_at = OLD.last_message_at THEN -1 ELSE 0 END
    WHERE OLD.status = 'OPEN';
    INSERT INTO dashboard_deltas (tenant_id, number_id, assignee_id, open, unassigned, waiting)
    SELECT NEW.tenant_id, NEW.number_id, COALESCE(NEW.assignee_id, ''), 1,
        CASE WHEN NEW.assignee_id IS NULL THEN 1 ELSE 0 END,
        CASE WHEN NEW.last_customer_message_at = NEW.last_message_at THEN 1 ELSE 0 END
    WHERE NEW.status = 'OPEN';
END;

-- Dashboard counters (package dashboard): the open, unassigned and waiting
-- conversations per tenant, number and assignee ('' for none), kept by
-- triggers on conversations so that every write counts, ent's or raw SQL's,
-- one row or many. A trigger appends a delta (no lock on a shared row, like
-- report_deltas) only when a conversation enters, leaves or moves between
-- counts; dashboard.Fold moves the deltas into dashboard_counts every
-- second, and the dashboard reads both in one statement.
-- waiting: the customer wrote last (last_customer_message_at equals
-- last_message_at), as the dashboard has always counted it.
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
    id bigserial PRIMARY KEY,
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
CREATE FUNCTION dashboard_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'OPEN' THEN
        INSERT INTO dashboard_deltas (tenant_id, number_id, assignee_id, open, unassigned, waiting)
        VALUES (OLD.tenant_id, OLD.number_id, COALESCE(OLD.assignee_id, ''), -1,
            CASE WHEN OLD.assignee_id IS NULL THEN -1 ELSE 0 END,
            CASE WHEN OLD.last_customer_message_at = OLD.last_message_at THEN -1 ELSE 0 END);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'OPEN' THEN
        INSERT INTO dashboard_deltas (tenant_id, number_id, assignee_id, open, unassigned, waiting)
        VALUES (NEW.tenant_id, NEW.number_id, COALESCE(NEW.assignee_id, ''), 1,
            CASE WHEN NEW.assignee_id IS NULL THEN 1 ELSE 0 END,
            CASE WHEN NEW.last_customer_message_at = NEW.last_message_at THEN 1 ELSE 0 END);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER dashboard_track_insert_delete AFTER INSERT OR DELETE ON conversations
    FOR EACH ROW EXECUTE FUNCTION dashboard_track();
CREATE TRIGGER dashboard_track_update AFTER UPDATE ON conversations FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id
        OR OLD.number_id IS DISTINCT FROM NEW.number_id OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
        OR COALESCE(OLD.last_customer_message_at = OLD.last_message_at, false)
            IS DISTINCT FROM COALESCE(NEW.last_customer_message_at = NEW.last_message_at, false))
    EXECUTE FUNCTION dashboard_track();

-- Report deltas (package report): the hooks no longer add to a tenant's
-- report_counts and report_histogram_packs rows in the transaction of the
-- write they follow. Those rows are hot (every message of a tenant adds to
-- its tenant row of the hour and of the day), and locking them there made
-- Postgres run a tenant's messages one at a time, and deadlock. The hooks
-- append a row here instead (no conflict, no lock on a shared row): the
-- counts of one fact at one instant for its number, team and agent, and the
-- histogram bins of the sample it completes, if any (kind <> ''). A folder
-- on every instance moves them into the rows every second; reports read
-- the rows and the deltas not yet folded in one statement.
CREATE TABLE report_deltas (
    id integer PRIMARY KEY,
    tenant_id text NOT NULL,
    hour bigint NOT NULL,
    day bigint NOT NULL,
    number_id text NOT NULL,
    team_id text NOT NULL,
    agent_id text NOT NULL,
    opened bigint NOT NULL DEFAULT 0,
    resolved bigint NOT NULL DEFAULT 0,
    reopened bigint NOT NULL DEFAULT 0,
    messages_in bigint NOT NULL DEFAULT 0,
    messages_out bigint NOT NULL DEFAULT 0,
    handled bigint NOT NULL DEFAULT 0,
    first_responses bigint NOT NULL DEFAULT 0,
    first_response_ms bigint NOT NULL DEFAULT 0,
    first_response_business_ms bigint NOT NULL DEFAULT 0,
    first_response_breaches bigint NOT NULL DEFAULT 0,
    first_response_business_breaches bigint NOT NULL DEFAULT 0,
    responses bigint NOT NULL DEFAULT 0,
    response_ms bigint NOT NULL DEFAULT 0,
    response_business_ms bigint NOT NULL DEFAULT 0,
    resolutions bigint NOT NULL DEFAULT 0,
    resolution_ms bigint NOT NULL DEFAULT 0,
    resolution_business_ms bigint NOT NULL DEFAULT 0,
    kind text NOT NULL DEFAULT '',
    bin integer NOT NULL DEFAULT 0,
    business_bin integer NOT NULL DEFAULT 0,
    n bigint NOT NULL DEFAULT 0
);
CREATE INDEX report_deltas_tenant_day ON report_deltas (tenant_id, day);

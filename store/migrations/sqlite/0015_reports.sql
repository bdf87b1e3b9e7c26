-- Report facts (package report; flags are 0/1 integers, the same SQL on both dialects), kept by hooks in the transaction of each
-- message and conversation write. Instants are Unix milliseconds (at,
-- started_at, the conversation state) or Unix seconds (slot, day: the start
-- of a local hour / local day of the tenant); durations are milliseconds.

-- The running state of each conversation: who is waiting since when.
CREATE TABLE report_conversations (
    conversation_id text PRIMARY KEY,
    tenant_id text NOT NULL,
    episode_started_at bigint NOT NULL,
    waiting_since bigint NULL,
    last_message_at bigint NULL,
    responded integer NOT NULL DEFAULT 0
);

-- One row per first response, response and resolution: the exact figures.
CREATE TABLE report_samples (
    tenant_id text NOT NULL,
    conversation_id text NOT NULL,
    kind text NOT NULL,
    number_id text NOT NULL,
    team_id text NOT NULL DEFAULT '',
    agent_id text NOT NULL DEFAULT '',
    started_at bigint NOT NULL,
    at bigint NOT NULL,
    ms bigint NOT NULL,
    business_ms bigint NOT NULL,
    breached integer NOT NULL DEFAULT 0,
    business_breached integer NOT NULL DEFAULT 0,
    handled integer NOT NULL DEFAULT 0
);
CREATE INDEX report_samples_tenant_at ON report_samples (tenant_id, at);
CREATE INDEX report_samples_conversation ON report_samples (conversation_id, kind);

-- Counts and sums per local hour and per dimension (tenant, number, team,
-- agent, agent × number).
CREATE TABLE report_counts (
    tenant_id text NOT NULL,
    dim text NOT NULL,
    slot bigint NOT NULL,
    dim_id text NOT NULL,
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
    PRIMARY KEY (tenant_id, dim, slot, dim_id)
);

-- Duration histograms per local day, dimension and kind, for percentiles.
CREATE TABLE report_histograms (
    tenant_id text NOT NULL,
    dim text NOT NULL,
    day bigint NOT NULL,
    kind text NOT NULL,
    dim_id text NOT NULL,
    bin integer NOT NULL,
    n bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, dim, day, kind, dim_id, bin)
);

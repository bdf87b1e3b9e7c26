-- A number's own first-response target (SLA), in seconds; NULL: the
-- tenant's. Report facts judge a first response on the number by it.
ALTER TABLE `numbers` ADD COLUMN `first_response_target_seconds` integer NULL;

-- Agents' presence over time (package report, written by package presence
-- at each change it makes): one row per interval ONLINE or AWAY, instants in
-- Unix milliseconds, ended_at NULL while it lasts. OFFLINE is the time
-- outside them. Reports clip them to their buckets.
CREATE TABLE report_presence (
    tenant_id text NOT NULL,
    agent_id text NOT NULL,
    presence text NOT NULL,
    started_at bigint NOT NULL,
    ended_at bigint NULL
);
CREATE INDEX report_presence_tenant_started ON report_presence (tenant_id, started_at);
CREATE INDEX report_presence_agent_open ON report_presence (tenant_id, agent_id, ended_at);

-- Hourly reports read a week of samples: the index now holds every column
-- they read, so each sample is read from the index alone (a month's report
-- by hour over 1,000,000 messages spent most of its time fetching rows).
DROP INDEX report_samples_tenant_at;
CREATE INDEX report_samples_tenant_at ON report_samples (tenant_id, at, kind, agent_id, number_id, team_id, ms, business_ms);

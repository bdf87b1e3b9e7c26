package report

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/ent"
)

// Presences an agent's time is reported in (report_presence keeps no
// OFFLINE interval: offline is the time outside the others).
const (
	presenceOnline = "ONLINE"
	presenceAway   = "AWAY"
)

// TrackPresence records that an agent's presence became p at instant at,
// through client (a transaction's when the change is in one): it ends their
// open interval when it is in another presence and, unless p is OFFLINE,
// opens one. Package presence calls it at each change it makes, and so do
// the writes that take an agent offline (disabling, offboarding). A change
// to the presence already open records nothing.
func TrackPresence(ctx context.Context, client *ent.Client, tenantID, agentID, p string, at time.Time) error {
	ms := at.UnixMilli()
	if _, err := client.ExecContext(ctx, `UPDATE report_presence SET ended_at = CASE WHEN started_at > $4 THEN started_at ELSE $4 END
WHERE tenant_id = $1 AND agent_id = $2 AND ended_at IS NULL AND presence <> $3`, tenantID, agentID, p, ms); err != nil {
		return fmt.Errorf("report: presence of %s: %w", agentID, err)
	}
	if p != presenceOnline && p != presenceAway {
		return nil
	}
	if _, err := client.ExecContext(ctx, `INSERT INTO report_presence (tenant_id, agent_id, presence, started_at)
SELECT $1, $2, $3, CAST($4 AS bigint) WHERE NOT EXISTS
(SELECT 1 FROM report_presence WHERE tenant_id = $1 AND agent_id = $2 AND ended_at IS NULL)`, tenantID, agentID, p, ms); err != nil {
		return fmt.Errorf("report: presence of %s: %w", agentID, err)
	}
	return nil
}

// readPresence adds the agents' time online and away to the cells: per
// agent by agent, summed by tenant (key ""), each interval clipped to the
// buckets it overlaps and an open one ending now. Reports by number or team
// have none.
func (s *Service) readPresence(ctx context.Context, tenantID, dim string, f filter, bounds []int64, acc *accumulator) error {
	if dim != dimTenant && dim != dimAgent {
		return nil
	}
	start, end := bounds[0]*1000, bounds[len(bounds)-1]*1000
	now := s.clock.Now().UnixMilli()
	q := `SELECT agent_id, presence, started_at, ended_at FROM report_presence
WHERE tenant_id = $1 AND started_at < $2 AND (ended_at IS NULL OR ended_at > $3)`
	args := []any{tenantID, min(end, now), start}
	if f.exact != "" {
		q += " AND agent_id = $4"
		args = append(args, f.exact)
	}
	rows, err := s.client.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("report: presence: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var agentID, p string
		var from int64
		var to *int64
		if err := rows.Scan(&agentID, &p, &from, &to); err != nil {
			return err
		}
		until := now
		if to != nil {
			until = min(*to, now)
		}
		key := ""
		if dim == dimAgent {
			key = agentID
		}
		from, until = max(from, start), min(until, end)
		for i := bucketOf(bounds, from/1000); i < len(bounds)-1 && bounds[i]*1000 < until; i++ {
			ms := min(until, bounds[i+1]*1000) - max(from, bounds[i]*1000)
			if ms <= 0 {
				continue
			}
			c := acc.at(i, key)
			if p == presenceAway {
				c.awayMs += ms
			} else {
				c.onlineMs += ms
			}
		}
	}
	return rows.Err()
}

package report

import (
	"context"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Scope narrows q to what the viewer of ctx may see: everyone's figures
// with report.view_all, their own with report.view_own (an agent only).
func Scope(ctx context.Context, q Query) (Query, error) {
	q.OwnAgentID = ""
	if policy.Can(ctx, policy.ReportViewAll) {
		return q, nil
	}
	v := viewer.FromContext(ctx)
	if !policy.Can(ctx, policy.ReportViewOwn) || v == nil || v.AgentID == "" {
		return q, apperr.New(apperr.Forbidden, "your role may not see these figures (report.view_all, or report.view_own for an agent's own)")
	}
	q.OwnAgentID = v.AgentID
	return q, nil
}

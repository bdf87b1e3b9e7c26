package graph

import (
	"context"

	"github.com/switchboard-dev/switchboard/report"
)

// report answers q with everyone's figures (report.view_all) or the
// viewer's own (report.view_own).
func (r *Resolver) report(ctx context.Context, q report.Query) (*report.Report, error) {
	q, err := report.Scope(ctx, q)
	if err != nil {
		return nil, err
	}
	return r.reports.Run(ctx, q)
}

package export

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/conversationexport"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/ent/predicate"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/job"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/pulid"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// ActionJobStarted is the audit action of startConversationExport; the
// export itself is audited as ActionConversationsExported when it ends.
const ActionJobStarted = "conversation.export_start"

// JobConfig configures export jobs. Zero durations take their defaults.
type JobConfig struct {
	// Dir is where files are written (created if missing).
	Dir string
	// Secret signs download links.
	Secret []byte
	// LinkTTL is how long a finished file may be downloaded before it is
	// removed (default 24 h).
	LinkTTL time.Duration
	// Stale is how long a running export's progress may stand still before
	// another run takes it over: its instance is presumed dead (default
	// 2 min; progress moves every progressEvery rows).
	Stale time.Duration
}

// Jobs runs conversation exports as durable jobs: Start enqueues one, the
// worker (Worker) writes the file as the requester, Link signs its
// download, Download serves it, Sweep removes expired files.
type Jobs struct {
	svc   *Service
	jobs  *job.Client
	authz *policy.Authorizer
	clock clock.Clock
	log   *slog.Logger
	cfg   JobConfig

	// progressEvery: rows between two progress writes.
	progressEvery int
	// afterProgress, in tests, runs after each progress write.
	afterProgress func(ctx context.Context, rows int) error

	refusals refusals // refused downloads recorded, per export (links.go)
}

// NewJobs returns the export jobs of svc.
func NewJobs(svc *Service, jobs *job.Client, authz *policy.Authorizer, c clock.Clock, log *slog.Logger, cfg JobConfig) *Jobs {
	cfg.LinkTTL = cmp.Or(cfg.LinkTTL, 24*time.Hour)
	cfg.Stale = cmp.Or(cfg.Stale, 2*time.Minute)
	return &Jobs{svc: svc, jobs: jobs, authz: authz, clock: c, log: log, cfg: cfg, progressEvery: 1000}
}

// JobArgs is one export job.
type JobArgs struct {
	TenantID string `json:"tenant_id"`
	ExportID string `json:"export_id"`
}

// Kind names the job.
func (JobArgs) Kind() string { return "conversation.export" }

// InsertOpts: a few attempts; a run that fails puts the export back in the
// queue, the last one fails it.
func (JobArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 5} }

// Start enqueues an export of f in format ("JSONL" or "CSV") for the viewer
// of ctx, an agent holding conversation.export, and audits the request.
func (j *Jobs) Start(ctx context.Context, f Filter, format conversationexport.Format) (*ent.ConversationExport, error) {
	v := viewer.FromContext(ctx)
	if !policy.Can(ctx, policy.ConversationExport) {
		return nil, apperr.New(apperr.Forbidden, "your role may not export conversations (conversation.export)")
	}
	if v == nil || v.Kind != viewer.KindAgent {
		return nil, apperr.New(apperr.Forbidden, "an export job runs as the agent who asks it: sign in as one (API keys stream GET /export/conversations)")
	}
	if err := conversationexport.FormatValidator(format); err != nil {
		return nil, apperr.Invalid("format", "must be JSONL or CSV")
	}
	if _, err := f.where(); err != nil {
		return nil, err
	}
	if err := j.known(ctx, f); err != nil {
		return nil, err
	}
	now := j.clock.Now()
	var out *ent.ConversationExport
	err := store.WithTx(ctx, j.svc.client, func(ctx context.Context, tx *ent.Tx) error {
		x, err := tx.ConversationExport.Create().SetRequesterID(v.AgentID).SetFormat(format).
			SetFilter(schematype.ExportFilter(f)).SetFilterText(f.String()).
			SetCreatedAt(now).SetUpdatedAt(now).Save(ctx)
		if err != nil {
			return err
		}
		stx, err := tx.SQLTx()
		if err != nil {
			return err
		}
		if _, err := j.jobs.InsertTx(ctx, stx, JobArgs{TenantID: v.TenantID, ExportID: x.ID}, nil); err != nil {
			return err
		}
		out = x
		return audit.Record(ctx, tx, audit.Event{Action: ActionJobStarted,
			Summary: fmt.Sprintf("started export %s of conversations (%s) as %s", x.ID, f, format),
			After:   map[string]any{"export": x.ID, "filter": f.String(), "format": string(format)}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// formatOf is the Service's format of a job's.
func formatOf(f conversationexport.Format) string {
	if f == conversationexport.FormatCSV {
		return CSV
	}
	return JSONL
}

// known refuses a filter naming numbers or agents the viewer of ctx does not
// see (another tenant's among them) with NOT_FOUND.
func (j *Jobs) known(ctx context.Context, f Filter) error {
	numbers := slices.Compact(slices.Sorted(slices.Values(f.NumberIDs)))
	if n, err := j.svc.client.Number.Query().Where(number.IDIn(numbers...)).Count(ctx); err != nil {
		return err
	} else if n != len(numbers) {
		return apperr.New(apperr.NotFound, "a number of the filter was not found")
	}
	agents := slices.Compact(slices.Sorted(slices.Values(f.AgentIDs)))
	if n, err := j.svc.client.Agent.Query().Where(agent.IDIn(agents...)).Count(ctx); err != nil {
		return err
	} else if n != len(agents) {
		return apperr.New(apperr.NotFound, "an agent of the filter was not found")
	}
	return nil
}

// Worker runs JobArgs.
type Worker struct {
	river.WorkerDefaults[JobArgs]
	Jobs *Jobs
}

// Timeout: none. A run may outlive River's rescue delay; the rescued run
// finds the export's progress moving and waits (see Run).
func (w *Worker) Timeout(*river.Job[JobArgs]) time.Duration { return -1 }

// Work runs the export.
func (w *Worker) Work(ctx context.Context, j *river.Job[JobArgs]) error {
	return w.Jobs.Run(ctx, j.Args, j.Attempt >= j.MaxAttempts)
}

// errTakenOver stops a run whose export another run claimed.
var errTakenOver = errors.New("export taken over by another run")

// Run writes export args.ExportID to a file. It claims the export first: a
// queued one, or a running one whose progress has stood still for
// JobConfig.Stale (its run died with its instance); one whose progress
// moves is left to its run and this job snoozes. It then checks that the
// requester is still enabled and still holds conversation.export, and
// writes the file as them (their row scope and field rules). Each run
// writes a file of its own, so two runs never share one. A failed run puts
// the export back in the queue, unless it is the last attempt.
func (j *Jobs) Run(ctx context.Context, args JobArgs, lastAttempt bool) error {
	sctx := viewer.System(ctx, args.TenantID)
	x, err := j.svc.client.ConversationExport.Get(sctx, args.ExportID)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if x.State != conversationexport.StateQUEUED && x.State != conversationexport.StateRUNNING {
		return nil
	}
	file := fileOf(formatOf(x.Format), x.ID+"-"+pulid.New("run")).Name
	now := j.clock.Now()
	n, err := j.svc.client.ConversationExport.Update().Where(conversationexport.ID(x.ID), conversationexport.Or(
		conversationexport.StateEQ(conversationexport.StateQUEUED),
		conversationexport.And(conversationexport.StateEQ(conversationexport.StateRUNNING), conversationexport.UpdatedAtLT(now.Add(-j.cfg.Stale))),
	)).SetState(conversationexport.StateRUNNING).SetFile(file).SetRowsWritten(0).SetUpdatedAt(now).ClearError().Save(sctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return river.JobSnooze(j.cfg.Stale)
	}
	ours := conversationexport.And(conversationexport.ID(x.ID), conversationexport.File(file))
	rctx, err := j.asRequester(ctx, args.TenantID, x.RequesterID)
	if err != nil {
		return j.fail(sctx, ours, err.Error())
	}
	res, err := j.write(rctx, sctx, x, file, ours)
	if err != nil {
		_ = os.Remove(filepath.Join(j.cfg.Dir, file))
		if errors.Is(err, errTakenOver) {
			return nil
		}
		if lastAttempt {
			return j.fail(sctx, ours, "the export failed: "+err.Error())
		}
		if _, uerr := j.svc.client.ConversationExport.Update().Where(ours).SetState(conversationexport.StateQUEUED).
			SetError(err.Error()).SetUpdatedAt(j.clock.Now()).Save(sctx); uerr != nil {
			return errors.Join(err, uerr)
		}
		return err
	}
	done := j.clock.Now()
	n, err = j.svc.client.ConversationExport.Update().Where(ours).SetState(conversationexport.StateDONE).
		SetRowsWritten(res.Conversations + res.Messages).SetRowsTotal(res.Conversations + res.Messages).
		SetBytes(res.Bytes).SetSha256(res.SHA256).SetFinishedAt(done).SetExpiresAt(done.Add(j.cfg.LinkTTL)).
		SetUpdatedAt(done).Save(sctx)
	if err == nil && n == 0 {
		_ = os.Remove(filepath.Join(j.cfg.Dir, file))
	}
	return err
}

// write writes the file of x as the requester (rctx), moving its progress
// (through sctx, on the row while it is ours) every progressEvery rows.
func (j *Jobs) write(rctx, sctx context.Context, x *ent.ConversationExport, file string, ours predicate.ConversationExport) (Result, error) {
	f := Filter(x.Filter)
	where, err := f.where()
	if err != nil {
		return Result{}, err
	}
	total, err := j.count(rctx, where)
	if err != nil {
		return Result{}, err
	}
	if err := j.progress(sctx, ours, 0, total); err != nil {
		return Result{}, err
	}
	if err := os.MkdirAll(j.cfg.Dir, 0o750); err != nil {
		return Result{}, fmt.Errorf("export directory: %w", err)
	}
	out, err := os.OpenFile(filepath.Join(j.cfg.Dir, file), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return Result{}, fmt.Errorf("export file: %w", err)
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	last := 0
	res, err := j.svc.write(rctx, bw, formatOf(x.Format), f, where, x.ID, func(r *Result) error {
		rows := r.Conversations + r.Messages
		if rows-last < j.progressEvery {
			return nil
		}
		last = rows
		return j.progress(sctx, ours, rows, max(total, rows))
	})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if serr := out.Sync(); err == nil {
		err = serr
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return res, err
}

// count is how many rows (conversations and their messages) the export of
// where writes for the viewer of ctx, to show its progress against.
func (j *Jobs) count(ctx context.Context, where []predicate.Conversation) (int, error) {
	convs, err := j.svc.client.Conversation.Query().Where(where...).Count(ctx)
	if err != nil {
		return 0, err
	}
	msgs, err := j.svc.client.Message.Query().Where(message.HasConversationWith(where...)).Count(ctx)
	if err != nil {
		return 0, err
	}
	return convs + msgs, nil
}

// progress writes how far the export is, which also tells other runs it
// is alive; it stops the run when the export is no longer its.
func (j *Jobs) progress(sctx context.Context, ours predicate.ConversationExport, rows, total int) error {
	n, err := j.svc.client.ConversationExport.Update().Where(ours).SetRowsWritten(rows).SetRowsTotal(total).
		SetUpdatedAt(j.clock.Now()).Save(sctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return errTakenOver
	}
	if j.afterProgress != nil {
		return j.afterProgress(sctx, rows)
	}
	return nil
}

// fail ends the export as FAILED with why. The job itself succeeds: running
// it again would fail the same way.
func (j *Jobs) fail(sctx context.Context, ours predicate.ConversationExport, why string) error {
	now := j.clock.Now()
	_, err := j.svc.client.ConversationExport.Update().Where(ours).SetState(conversationexport.StateFAILED).
		SetError(why).ClearFile().SetFinishedAt(now).SetUpdatedAt(now).Save(sctx)
	return err
}

// asRequester is the context of the agent who asked for an export, admitted
// as their request would be now: refused when they were disabled, deleted,
// or lost conversation.export since.
func (j *Jobs) asRequester(ctx context.Context, tenantID, agentID string) (context.Context, error) {
	ag, err := j.svc.client.Agent.Query().Where(agent.ID(agentID)).Select(agent.FieldRoles, agent.FieldDisabledAt).
		Only(viewer.System(ctx, tenantID))
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.Forbidden, "the agent who asked for the export no longer exists")
	}
	if err != nil {
		return nil, err
	}
	if ag.DisabledAt != nil {
		return nil, apperr.New(apperr.Forbidden, "the agent who asked for the export is disabled")
	}
	v := &viewer.Viewer{Kind: viewer.KindAgent, TenantID: tenantID, AgentID: agentID, Roles: ag.Roles, IssuedAt: time.Now()}
	rctx, err := j.authz.Admit(viewer.NewContext(ctx, v), v)
	if err != nil {
		return nil, err
	}
	if !policy.Can(rctx, policy.ConversationExport) {
		return nil, apperr.New(apperr.Forbidden, "the agent who asked for the export may no longer export conversations (conversation.export)")
	}
	return rctx, nil
}

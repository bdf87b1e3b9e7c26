// Package export streams a tenant's conversations with their messages, for
// backups and archives: nothing a business must keep stays on a phone.
//
// GET /export/conversations (conversation.export) answers JSONL or a zip of
// two CSV files, streamed: the server holds one page of rows at a time
// whatever the size (BenchmarkExport). What the caller may not read is not
// exported: row scopes choose the conversations, field rules cut the fields
// (a masked phone stays masked), deleted messages are tombstones unless the
// caller has message.view_deleted. Every export is audited once it ends: who,
// the filter, the rows and the SHA-256 of the bytes sent, which also closes the
// response as the X-Export-Sha256 trailer.
//
// Exports too large for one request run as durable jobs (Jobs, jobs.go): the
// file is written to the export directory as the requester, its progress
// kept on a ConversationExport row, and it is downloaded through a link
// signed by the server until it expires (links.go); a periodic sweep removes
// expired files.
package export

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/attachment"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/predicate"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/view"
)

// Formats.
const (
	JSONL = "jsonl" // one JSON object per line: a conversation, then its messages
	CSV   = "csv"   // a zip of conversations.csv (one row per conversation) and messages.csv (the transcript)
)

// Filter chooses the conversations. Empty lists mean "all"; times bound the
// conversation's creation, From included, To excluded. An export job keeps
// it as its row's filter.
type Filter schematype.ExportFilter

func (f Filter) String() string {
	var parts []string
	add := func(k string, v []string) {
		if len(v) > 0 {
			parts = append(parts, k+"="+strings.Join(v, ","))
		}
	}
	add("numbers", f.NumberIDs)
	add("agents", f.AgentIDs)
	add("statuses", f.Statuses)
	if f.From != nil {
		parts = append(parts, "from="+f.From.UTC().Format(time.RFC3339))
	}
	if f.To != nil {
		parts = append(parts, "to="+f.To.UTC().Format(time.RFC3339))
	}
	if len(parts) == 0 {
		return "everything"
	}
	return strings.Join(parts, " ")
}

func (f Filter) where() ([]predicate.Conversation, error) {
	var ps []predicate.Conversation
	if len(f.NumberIDs) > 0 {
		ps = append(ps, conversation.NumberIDIn(f.NumberIDs...))
	}
	if len(f.AgentIDs) > 0 {
		ps = append(ps, conversation.AssigneeIDIn(f.AgentIDs...))
	}
	if len(f.Statuses) > 0 {
		var sts []conversation.Status
		for _, s := range f.Statuses {
			st := conversation.Status(strings.ToUpper(s))
			if err := conversation.StatusValidator(st); err != nil {
				return nil, apperr.Invalid("status", "unknown status %q", s)
			}
			sts = append(sts, st)
		}
		ps = append(ps, conversation.StatusIn(sts...))
	}
	if f.From != nil {
		ps = append(ps, conversation.CreatedAtGTE(*f.From))
	}
	if f.To != nil {
		ps = append(ps, conversation.CreatedAtLT(*f.To))
	}
	return ps, nil
}

// Result is what an export sent.
type Result struct {
	Format        string
	Conversations int
	Messages      int
	Bytes         int64
	SHA256        string
}

// Pages: how many rows are held at once.
const (
	conversationPage = 200
	messagePage      = 1000
)

// Service exports.
type Service struct {
	client *ent.Client
}

// New returns a Service over client.
func New(client *ent.Client) *Service { return &Service{client: client} }

// Write streams the export of f in format to w as the viewer of ctx may see
// it, and audits it once it ends (also when it fails half way, with what was
// sent). ctx must carry the viewer's decisions (policy.NewContext).
func (s *Service) Write(ctx context.Context, w io.Writer, format string, f Filter) (Result, error) {
	if !policy.Can(ctx, policy.ConversationExport) {
		return Result{}, apperr.New(apperr.Forbidden, "your role may not export conversations (conversation.export)")
	}
	if format != JSONL && format != CSV {
		return Result{}, apperr.Invalid("format", "must be %s or %s", JSONL, CSV)
	}
	where, err := f.where()
	if err != nil {
		return Result{}, err
	}
	return s.write(ctx, w, format, f, where, "", func(*Result) error { return nil })
}

// write streams the export and audits it (naming exportID, the job, if
// any); step is called after each row written (a job's progress), and its
// error stops the export.
func (s *Service) write(ctx context.Context, w io.Writer, format string, f Filter, where []predicate.Conversation, exportID string, step func(*Result) error) (Result, error) {
	d := attachment.NewDigest(w)
	res := Result{Format: format}
	var err error
	if format == JSONL {
		err = s.jsonl(ctx, d, where, &res, step)
	} else {
		err = s.csv(ctx, d, where, &res, step)
	}
	res.Bytes, res.SHA256 = d.Bytes(), d.SHA256()
	if aerr := s.record(ctx, f, res, exportID, err); aerr != nil && err == nil {
		err = aerr
	}
	return res, err
}

// record audits the export in a transaction of its own.
func (s *Service) record(ctx context.Context, f Filter, res Result, exportID string, failed error) error {
	ctx = context.WithoutCancel(ctx)
	summary := fmt.Sprintf("exported %d conversations and %d messages as %s (%s), %d bytes, sha256 %s",
		res.Conversations, res.Messages, res.Format, f, res.Bytes, res.SHA256)
	if exportID != "" {
		summary += ", export job " + exportID
	}
	if failed != nil {
		summary = "interrupted: " + summary
	}
	return store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		return audit.Record(ctx, tx, audit.Event{Action: audit.ActionConversationsExported, Summary: summary,
			After: map[string]any{"filter": f.String(), "rows": res.Conversations + res.Messages, "sha256": res.SHA256, "export": exportID}})
	})
}

// conversations calls fn for every conversation of the filter, a page at a
// time, in id order, each with its contact.
func (s *Service) conversations(ctx context.Context, where []predicate.Conversation, fn func(*ent.Conversation) error) error {
	after := ""
	for {
		q := s.client.Conversation.Query().Where(where...).WithContact().Order(ent.Asc(conversation.FieldID)).Limit(conversationPage)
		if after != "" {
			q.Where(conversation.IDGT(after))
		}
		page, err := q.All(ctx)
		if err != nil {
			return err
		}
		for _, c := range page {
			if err := fn(c); err != nil {
				return err
			}
		}
		if len(page) < conversationPage {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// messages calls fn for every message of a conversation, a page at a time,
// in id (creation) order.
func (s *Service) messages(ctx context.Context, conversationID string, fn func(*ent.Message) error) error {
	after := ""
	for {
		q := s.client.Message.Query().Where(message.ConversationID(conversationID)).Order(ent.Asc(message.FieldID)).Limit(messagePage)
		if after != "" {
			q.Where(message.IDGT(after))
		}
		page, err := q.All(ctx)
		if err != nil {
			return err
		}
		for _, m := range page {
			if err := fn(m); err != nil {
				return err
			}
		}
		if len(page) < messagePage {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

func (s *Service) jsonl(ctx context.Context, w io.Writer, where []predicate.Conversation, res *Result, step func(*Result) error) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	dec := policy.FromContext(ctx)
	err := s.conversations(ctx, where, func(c *ent.Conversation) error {
		res.Conversations++
		if err := enc.Encode(map[string]any{"type": "conversation", "conversation": view.Conversation(dec, c)}); err != nil {
			return err
		}
		if err := step(res); err != nil {
			return err
		}
		return s.messages(ctx, c.ID, func(m *ent.Message) error {
			res.Messages++
			if err := enc.Encode(map[string]any{"type": "message", "message": view.Message(dec, m)}); err != nil {
				return err
			}
			return step(res)
		})
	})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

var (
	conversationColumns = []string{"id", "numberID", "contactID", "contact.profileName", "contact.phone", "contact.waID",
		"status", "priority", "assigneeID", "teamID", "createdAt", "firstResponseAt", "resolvedAt", "lastMessageAt"}
	messageColumns = []string{"conversationID", "id", "createdAt", "direction", "kind", "status", "senderID", "replyToID",
		"body", "deletedAt", "sentAt", "deliveredAt", "readAt"}
)

func (s *Service) csv(ctx context.Context, w io.Writer, where []predicate.Conversation, res *Result, step func(*Result) error) error {
	zw := zip.NewWriter(w)
	dec := policy.FromContext(ctx)
	file := func(name string, columns []string, rows func(*csv.Writer) error) error {
		f, err := zw.Create(name)
		if err != nil {
			return err
		}
		cw := csv.NewWriter(f)
		if err := cw.Write(columns); err != nil {
			return err
		}
		if err := rows(cw); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	}
	err := file("conversations.csv", conversationColumns, func(cw *csv.Writer) error {
		return s.conversations(ctx, where, func(c *ent.Conversation) error {
			res.Conversations++
			if err := cw.Write(row(view.Conversation(dec, c), conversationColumns)); err != nil {
				return err
			}
			return step(res)
		})
	})
	if err == nil {
		err = file("messages.csv", messageColumns, func(cw *csv.Writer) error {
			return s.conversations(ctx, where, func(c *ent.Conversation) error {
				return s.messages(ctx, c.ID, func(m *ent.Message) error {
					res.Messages++
					if err := cw.Write(row(view.Message(dec, m), messageColumns)); err != nil {
						return err
					}
					return step(res)
				})
			})
		})
	}
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	return err
}

// row reads columns ("a" or "a.b") out of a view, as text; what the view
// left out is empty.
func row(v map[string]any, columns []string) []string {
	out := make([]string, len(columns))
	for i, col := range columns {
		val := any(v)
		for part := range strings.SplitSeq(col, ".") {
			m, ok := val.(map[string]any)
			if !ok {
				val = nil
				break
			}
			val = m[part]
		}
		out[i] = attachment.Cell(val)
	}
	return out
}

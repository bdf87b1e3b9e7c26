package segment

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	entcontact "github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/ent/schema"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// The side tables the database keeps from contacts.tags and
// contacts.attributes (migration 0021).
const (
	TagsTable       = "contact_tags"
	AttributesTable = "contact_attribute_values"
)

// Audit actions.
const (
	ActionCreated = "segment.create"
	ActionUpdated = "segment.update"
	ActionDeleted = "segment.delete"
)

// MaxSample is the most contacts a preview shows.
const MaxSample = 100

// Service keeps segments and resolves filters.
type Service struct {
	client *ent.Client
	clock  clock.Clock
}

// New returns a Service over client; clock says when "the last N days" end.
func New(client *ent.Client, clk clock.Clock) *Service {
	return &Service{client: client, clock: clk}
}

// Query returns the contacts of f the viewer of ctx may see, as a query the
// caller may refine, page or select from. Numbers named by f must be numbers
// the viewer sees (NOT_FOUND otherwise).
func (s *Service) Query(ctx context.Context, f Filter) (*ent.ContactQuery, error) {
	v := viewer.FromContext(ctx)
	if v == nil {
		return nil, apperr.New(apperr.Unauthenticated, "sign in first")
	}
	f, err := Normalize(f)
	if err != nil {
		return nil, err
	}
	if err := s.checkNumbers(ctx, f.NumberIDs); err != nil {
		return nil, err
	}
	client := s.client
	if tx := ent.TxFromContext(ctx); tx != nil {
		client = tx.Client() // the root client would wait on the transaction under SQLite
	}
	return client.Contact.Query().Where(where(v.TenantID, f, s.clock.Now(), schema.ConversationScope(ctx))), nil
}

func (s *Service) checkNumbers(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	found, err := s.client.Number.Query().Where(number.IDIn(ids...)).IDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !contains(found, id) { // the id stays out of the message: it may be another tenant's
			return &apperr.Error{Code: apperr.NotFound, Field: "numberIDs", Message: "a number of the filter was not found"}
		}
	}
	return nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Count is how many contacts f selects, as the viewer of ctx sees them.
func (s *Service) Count(ctx context.Context, f Filter) (int, error) {
	q, err := s.Query(ctx, f)
	if err != nil {
		return 0, err
	}
	return q.Count(ctx)
}

// Sample is up to n contacts of f (at most MaxSample), the most recently
// created first.
func (s *Service) Sample(ctx context.Context, f Filter, n int) ([]*ent.Contact, error) {
	if n < 0 || n > MaxSample {
		return nil, apperr.Invalid("sample", "a sample is 0 to %d contacts", MaxSample)
	}
	q, err := s.Query(ctx, f)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return []*ent.Contact{}, nil
	}
	// Ids sort by creation time: the primary key gives the newest first
	// without sorting the segment.
	return q.Order(ent.Desc(entcontact.FieldID)).Limit(n).All(ctx)
}

// Preview is a filter's size and a few of its contacts.
type Preview struct {
	Count  int
	Sample []*ent.Contact
}

// Preview counts f and samples n of its contacts.
func (s *Service) Preview(ctx context.Context, f Filter, n int) (Preview, error) {
	count, err := s.Count(ctx, f)
	if err != nil {
		return Preview{}, err
	}
	sample, err := s.Sample(ctx, f, n)
	return Preview{Count: count, Sample: sample}, err
}

// Input is what a segment is made of.
type Input struct {
	Name        string
	Description string
	Filter      Filter
}

func (in Input) normalize() (Input, error) {
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	if in.Name == "" || len(in.Name) > 200 {
		return in, apperr.Invalid("name", "a segment's name is 1 to 200 characters")
	}
	if len(in.Description) > 1000 {
		return in, apperr.Invalid("description", "a description is at most 1000 characters")
	}
	var err error
	in.Filter, err = Normalize(in.Filter)
	return in, err
}

// Create saves a segment; its name is unique in the tenant (CONFLICT).
func (s *Service) Create(ctx context.Context, in Input) (*ent.Segment, error) {
	in, err := in.normalize()
	if err != nil {
		return nil, err
	}
	if err := s.checkNumbers(ctx, in.Filter.NumberIDs); err != nil {
		return nil, err
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Segment, error) {
		c := tx.Segment.Create().SetName(in.Name).SetDescription(in.Description).SetFilter(in.Filter)
		if v := viewer.FromContext(ctx); v != nil && v.AgentID != "" {
			c.SetCreatedByID(v.AgentID)
		}
		seg, err := c.Save(ctx)
		if err != nil {
			return nil, nameTaken(err, in.Name)
		}
		return seg, audit.Record(ctx, tx, audit.Event{Action: ActionCreated, TargetID: seg.ID,
			Summary: "created segment " + describe(seg), After: in.Filter})
	})
}

// Update replaces a segment's name, description and filter.
func (s *Service) Update(ctx context.Context, id string, in Input) (*ent.Segment, error) {
	in, err := in.normalize()
	if err != nil {
		return nil, err
	}
	if err := s.checkNumbers(ctx, in.Filter.NumberIDs); err != nil {
		return nil, err
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Segment, error) {
		before, err := tx.Segment.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		seg, err := before.Update().SetName(in.Name).SetDescription(in.Description).SetFilter(in.Filter).Save(ctx)
		if err != nil {
			return nil, nameTaken(err, in.Name)
		}
		return seg, audit.Record(ctx, tx, audit.Event{Action: ActionUpdated, TargetID: seg.ID,
			Summary: "updated segment " + describe(seg), Before: before.Filter, After: in.Filter})
	})
}

// Delete removes a segment. What used it keeps its own copy of the
// audience it resolved.
func (s *Service) Delete(ctx context.Context, id string) (*ent.Segment, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Segment, error) {
		seg, err := tx.Segment.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := tx.Segment.DeleteOne(seg).Exec(ctx); err != nil {
			return nil, err
		}
		return seg, audit.Record(ctx, tx, audit.Event{Action: ActionDeleted, TargetID: seg.ID,
			Summary: "deleted segment " + describe(seg), Before: seg.Filter})
	})
}

func nameTaken(err error, name string) error {
	if ent.IsConstraintError(err) {
		return apperr.New(apperr.Conflict, "a segment named %q exists already", name)
	}
	return err
}

func describe(seg *ent.Segment) string {
	f := seg.Filter
	return fmt.Sprintf("%q (%d tag condition(s), %d attribute condition(s), %d opt-in state(s), %d number(s), inbound within %d day(s))",
		seg.Name, len(f.TagsAll)+len(f.TagsAny)+len(f.TagsNone), len(f.Attributes), len(f.OptIn), len(f.NumberIDs), f.InboundWithinDays)
}

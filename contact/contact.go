// Package contact keeps the tenant's customers: profiles, tags and typed
// custom attributes.
package contact

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	entcontact "github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Limits on tags and attributes.
const (
	MaxTags       = 50
	MaxTagLen     = 50
	MaxAttributes = 50
	MaxAttrKeyLen = 64
	MaxAttrValLen = 1024
)

// Service changes contacts.
type Service struct {
	client *ent.Client
	pub    *realtime.Publisher
}

// NewService returns a Service over client that tells pub of every contact
// it creates or changes (outbound webhooks listen); pub may be nil.
func NewService(client *ent.Client, pub *realtime.Publisher) *Service {
	return &Service{client: client, pub: pub}
}

// write runs fn in a transaction and publishes the contact it wrote, as
// kind (realtime.KindCreated or KindUpdated), once it commits.
func (s *Service) write(ctx context.Context, kind string, fn func(ctx context.Context, tx *ent.Tx) (*ent.Contact, error)) (*ent.Contact, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Contact, error) {
		c, err := fn(ctx, tx)
		if err == nil {
			s.pub.OnCommit(tx, realtime.ContactEvent(c.TenantID, c.ID, kind))
		}
		return c, err
	})
}

// Create adds a contact; tags are normalised.
func (s *Service) Create(ctx context.Context, in ent.CreateContactInput) (*ent.Contact, error) {
	tags, err := NormalizeTags(in.Tags)
	if err != nil {
		return nil, err
	}
	in.Tags = tags
	v := viewer.FromContext(ctx)
	if v == nil {
		return nil, apperr.New(apperr.Unauthenticated, "sign in first")
	}
	existing, err := s.client.Contact.Query().Where(entcontact.WaID(in.WaID)).Only(viewer.System(ctx, v.TenantID))
	switch {
	case ent.IsNotFound(err):
		return s.write(ctx, realtime.KindCreated, func(ctx context.Context, tx *ent.Tx) (*ent.Contact, error) {
			return tx.Contact.Create().SetInput(in).Save(ctx)
		})
	case err != nil:
		return nil, err
	}
	visible, err := s.client.Contact.Query().Where(entcontact.ID(existing.ID)).Exist(ctx)
	if err != nil {
		return nil, err
	}
	if visible {
		return nil, apperr.New(apperr.Conflict, "%s is already a contact", in.WaID)
	}
	return unseen(existing, in, time.Now()), nil
}

// unseen answers a create whose WhatsApp id is already a contact outside the
// viewer's scope as a new contact they cannot see would be answered: what
// they sent, under the contact's id, which reads back as NOT_FOUND to them
// like any contact outside their scope. A CONFLICT would tell them that the
// number is a customer they may not see; nothing of the contact is shown,
// and nothing of it changes.
func unseen(existing *ent.Contact, in ent.CreateContactInput, now time.Time) *ent.Contact {
	c := *existing // keeps the client, so the contact's edges load (as the viewer: nothing)
	// Every field but the id and the tenant is forgotten, fields added later
	// included, then filled as a create fills them.
	rv := reflect.ValueOf(&c).Elem()
	for i := range rv.NumField() {
		if f := rv.Type().Field(i); f.IsExported() && f.Name != "ID" && f.Name != "TenantID" {
			rv.Field(i).SetZero()
		}
	}
	c.CreatedAt, c.UpdatedAt = now, now
	c.WaID, c.Tags, c.Attributes, c.OptIn, c.OptInAt = in.WaID, in.Tags, entcontact.DefaultAttributes, entcontact.OptInUNKNOWN, in.OptInAt
	if c.Tags == nil {
		c.Tags = entcontact.DefaultTags
	}
	if in.Phone != nil {
		c.Phone = *in.Phone
	}
	if in.ProfileName != nil {
		c.ProfileName = *in.ProfileName
	}
	if in.OptIn != nil {
		c.OptIn = *in.OptIn
	}
	if in.OptInSource != nil {
		c.OptInSource = *in.OptInSource
	}
	return &c
}

// Update changes a contact; tags are normalised.
func (s *Service) Update(ctx context.Context, id string, in ent.UpdateContactInput) (*ent.Contact, error) {
	var err error
	if in.Tags != nil {
		if in.Tags, err = NormalizeTags(in.Tags); err != nil {
			return nil, err
		}
	}
	if in.AppendTags != nil {
		// Appending could duplicate tags: fold it into a full replacement.
		return s.write(ctx, realtime.KindUpdated, func(ctx context.Context, tx *ent.Tx) (*ent.Contact, error) {
			c, err := tx.Contact.Get(ctx, id)
			if err != nil {
				return nil, err
			}
			base := c.Tags
			if in.Tags != nil {
				base = in.Tags
			}
			if in.Tags, err = NormalizeTags(append(slices.Clone(base), in.AppendTags...)); err != nil {
				return nil, err
			}
			in.AppendTags = nil
			return c.Update().SetInput(in).Save(ctx)
		})
	}
	return s.write(ctx, realtime.KindUpdated, func(ctx context.Context, tx *ent.Tx) (*ent.Contact, error) {
		return tx.Contact.UpdateOneID(id).SetInput(in).Save(ctx)
	})
}

// Tag adds and removes tags in one step.
func (s *Service) Tag(ctx context.Context, id string, add, remove []string) (*ent.Contact, error) {
	add, err := NormalizeTags(add)
	if err != nil {
		return nil, err
	}
	drop, err := NormalizeTags(remove)
	if err != nil {
		return nil, err
	}
	return s.write(ctx, realtime.KindUpdated, func(ctx context.Context, tx *ent.Tx) (*ent.Contact, error) {
		c, err := tx.Contact.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		tags := slices.DeleteFunc(append(slices.Clone(c.Tags), add...), func(t string) bool {
			return slices.Contains(drop, t)
		})
		if tags, err = NormalizeTags(tags); err != nil {
			return nil, err
		}
		return c.Update().SetTags(tags).Save(ctx)
	})
}

// SetAttributes replaces a contact's custom attributes after checking that
// each value parses as its type; values are stored in canonical form.
func (s *Service) SetAttributes(ctx context.Context, id string, attrs []schematype.ContactAttribute) (*ent.Contact, error) {
	clean, err := NormalizeAttributes(attrs)
	if err != nil {
		return nil, err
	}
	return s.write(ctx, realtime.KindUpdated, func(ctx context.Context, tx *ent.Tx) (*ent.Contact, error) {
		return tx.Contact.UpdateOneID(id).SetAttributes(clean).Save(ctx)
	})
}

// NormalizeTags trims and lowercases tags, drops empty ones and duplicates,
// and sorts them.
func NormalizeTags(tags []string) ([]string, error) {
	if tags == nil {
		return nil, nil
	}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if len(t) > MaxTagLen {
			return nil, apperr.Invalid("tags", "tag %q is longer than %d characters", t, MaxTagLen)
		}
		out = append(out, t)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxTags {
		return nil, apperr.Invalid("tags", "a contact has at most %d tags", MaxTags)
	}
	return out, nil
}

// NormalizeAttributes validates attributes and returns them with values in
// canonical form, sorted by key.
func NormalizeAttributes(attrs []schematype.ContactAttribute) ([]schematype.ContactAttribute, error) {
	if len(attrs) > MaxAttributes {
		return nil, apperr.Invalid("attributes", "a contact has at most %d attributes", MaxAttributes)
	}
	out := make([]schematype.ContactAttribute, 0, len(attrs))
	seen := map[string]bool{}
	for _, a := range attrs {
		key := strings.TrimSpace(a.Key)
		switch {
		case key == "" || len(key) > MaxAttrKeyLen:
			return nil, apperr.Invalid("attributes", "attribute keys are 1 to %d characters", MaxAttrKeyLen)
		case seen[key]:
			return nil, apperr.Invalid("attributes", "attribute %q is given twice", key)
		case len(a.Value) > MaxAttrValLen:
			return nil, apperr.Invalid("attributes", "attribute %q is longer than %d characters", key, MaxAttrValLen)
		}
		seen[key] = true
		v, err := canonical(a.Type, strings.TrimSpace(a.Value))
		if err != nil {
			return nil, apperr.Invalid("attributes", "attribute %q: %v", key, err)
		}
		out = append(out, schematype.ContactAttribute{Key: key, Type: a.Type, Value: v})
	}
	slices.SortFunc(out, func(a, b schematype.ContactAttribute) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func canonical(t schematype.AttributeType, v string) (string, error) {
	switch t {
	case schematype.AttributeString:
		return v, nil
	case schematype.AttributeNumber:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return "", fmt.Errorf("%q is not a number", v)
		}
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	case schematype.AttributeBool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return "", fmt.Errorf("%q is not true or false", v)
		}
		return strconv.FormatBool(b), nil
	case schematype.AttributeTime:
		tm, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return "", fmt.Errorf("%q is not an RFC 3339 time", v)
		}
		return tm.UTC().Format(time.RFC3339), nil
	}
	return "", fmt.Errorf("unknown type %q", t)
}

package outhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/outbounddelivery"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/pulid"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// EndpointInput is what createWebhookEndpoint and updateWebhookEndpoint
// take; on update a nil field is left as it is.
type EndpointInput struct {
	Name        *string
	URL         *string
	Events      []string
	Role        *string
	Enabled     *bool
	MaxInFlight *int
}

// Create adds an endpoint to the viewer's tenant and returns it with its
// signing secret, which is shown this once.
func (s *Service) Create(ctx context.Context, in EndpointInput) (*ent.WebhookEndpoint, string, error) {
	if in.Name == nil || in.URL == nil || in.Role == nil || in.Events == nil {
		return nil, "", apperr.Invalid("input", "name, url, events and role are required")
	}
	id := pulid.New("whk")
	secret, sealed, err := s.newSecret(id)
	if err != nil {
		return nil, "", err
	}
	create := func(ctx context.Context, tx *ent.Tx) (*ent.WebhookEndpoint, error) {
		c := tx.WebhookEndpoint.Create().SetID(id).SetSecretSealed(sealed).SetSecretPrefix(secret[:len(SecretPrefix)+6])
		if err := s.apply(ctx, in, c.Mutation()); err != nil {
			return nil, err
		}
		if v := viewer.FromContext(ctx); v != nil && v.AgentID != "" {
			c.SetCreatedByID(v.AgentID)
		}
		ep, err := c.Save(ctx)
		if err != nil {
			return nil, err
		}
		return ep, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionWebhookCreated, TargetID: ep.ID, After: describe(ep),
			Summary: fmt.Sprintf("webhook %q to %s for %s as role %s", ep.Name, host(ep.URL), strings.Join(ep.Events, ", "), ep.Role),
		})
	}
	ep, err := store.InTx(ctx, s.client, create)
	if err != nil {
		return nil, "", err
	}
	return ep, secret, nil
}

// Update changes an endpoint. Enabling it again clears its failure streak.
func (s *Service) Update(ctx context.Context, id string, in EndpointInput) (*ent.WebhookEndpoint, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.WebhookEndpoint, error) {
		before, err := tx.WebhookEndpoint.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		u := before.Update()
		if err := s.apply(ctx, in, u.Mutation()); err != nil {
			return nil, err
		}
		if in.Enabled != nil && *in.Enabled && !before.Enabled {
			u.SetConsecutiveFailures(0).ClearFailingSince().ClearDisabledReason()
		}
		ep, err := u.Save(ctx)
		if err != nil {
			return nil, err
		}
		return ep, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionWebhookUpdated, TargetID: ep.ID, Before: describe(before), After: describe(ep),
			Summary: fmt.Sprintf("webhook %q to %s for %s as role %s, enabled %t", ep.Name, host(ep.URL), strings.Join(ep.Events, ", "), ep.Role, ep.Enabled),
		})
	})
}

// apply validates in and sets it on m.
func (s *Service) apply(ctx context.Context, in EndpointInput, m *ent.WebhookEndpointMutation) error {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" || len(name) > 100 {
			return apperr.Invalid("name", "must be 1 to 100 characters")
		}
		m.SetName(name)
	}
	if in.URL != nil {
		u, err := checkURL(*in.URL, s.cfg.AllowPrivate)
		if err != nil {
			return err
		}
		if len(u.String()) > 2048 {
			return apperr.Invalid("url", "must be at most 2048 characters")
		}
		m.SetURL(u.String())
	}
	if in.Events != nil {
		events, err := checkEvents(in.Events)
		if err != nil {
			return err
		}
		m.SetEvents(events)
	}
	if in.Role != nil {
		// Payloads carry what the role reads: nobody hands out a role they could not grant.
		if err := policy.CheckRoles(ctx, s.client, []string{*in.Role}); err != nil {
			return err
		}
		m.SetRole(*in.Role)
	}
	if in.MaxInFlight != nil {
		if n := *in.MaxInFlight; n < 1 || n > 32 {
			return apperr.Invalid("maxInFlight", "must be between 1 and 32")
		}
		m.SetMaxInFlight(*in.MaxInFlight)
	}
	if in.Enabled != nil {
		m.SetEnabled(*in.Enabled)
	}
	return nil
}

func checkEvents(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, apperr.Invalid("events", "name at least one event type")
	}
	var out []string
	for _, e := range in {
		if !slices.Contains(EventTypes, e) {
			return nil, apperr.Invalid("events", "unknown event type %q (known: %s)", e, strings.Join(EventTypes, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Delete removes an endpoint and its delivery log.
func (s *Service) Delete(ctx context.Context, id string) (string, error) {
	err := store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		ep, err := tx.WebhookEndpoint.Get(ctx, id)
		if err != nil {
			return err
		}
		if _, err := tx.OutboundDelivery.Delete().Where(outbounddelivery.EndpointID(id)).Exec(ctx); err != nil {
			return err
		}
		if err := tx.WebhookEndpoint.DeleteOne(ep).Exec(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionWebhookDeleted, TargetID: id, Before: describe(ep),
			Summary: fmt.Sprintf("deleted webhook %q to %s", ep.Name, host(ep.URL)),
		})
	})
	return id, err
}

// RotateSecret gives an endpoint a new signing secret, shown this once; the
// old one stops signing at once.
func (s *Service) RotateSecret(ctx context.Context, id string) (*ent.WebhookEndpoint, string, error) {
	secret, sealed, err := s.newSecret(id)
	if err != nil {
		return nil, "", err
	}
	ep, err := store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.WebhookEndpoint, error) {
		ep, err := tx.WebhookEndpoint.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if ep, err = ep.Update().SetSecretSealed(sealed).SetSecretPrefix(secret[:len(SecretPrefix)+6]).Save(ctx); err != nil {
			return nil, err
		}
		return ep, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionWebhookSecretRotated, TargetID: id, Summary: fmt.Sprintf("new signing secret for webhook %q", ep.Name),
		})
	})
	if err != nil {
		return nil, "", err
	}
	return ep, secret, nil
}

// Redeliver sends a delivery again, with the same event id and body, as soon
// as its conversation's earlier deliveries allow.
func (s *Service) Redeliver(ctx context.Context, id string) (*ent.OutboundDelivery, error) {
	d, err := store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.OutboundDelivery, error) {
		d, err := tx.OutboundDelivery.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if d.State == outbounddelivery.StateSKIPPED {
			return nil, apperr.New(apperr.Conflict, "the endpoint's role may not see what this event is about: there is nothing to send")
		}
		if d, err = d.Update().SetState(outbounddelivery.StatePENDING).SetNextAttemptAt(s.clock.Now().UTC()).
			ClearLeaseUntil().Save(ctx); err != nil {
			return nil, err
		}
		return d, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionWebhookRedelivered, TargetID: d.ID,
			Summary: fmt.Sprintf("redeliver %s %s to %s", d.EventType, d.EventID, d.EndpointID),
		})
	})
	if err == nil {
		s.Wake()
	}
	return d, err
}

// disabled records that the endpoint was switched off for failing, and
// tells the tenant's live screens.
func (s *Service) disabled(ctx context.Context, tx *ent.Tx, ep *ent.WebhookEndpoint, reason string) error {
	s.pub.OnCommit(tx, realtime.WebhookDisabledEvent(ep.TenantID, ep.ID, reason))
	return audit.Record(ctx, tx, audit.Event{
		Action: audit.ActionWebhookDisabled, TargetID: ep.ID, Summary: fmt.Sprintf("webhook %q disabled: %s", ep.Name, reason),
	})
}

func (s *Service) newSecret(id string) (secret string, sealed []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	secret = SecretPrefix + base64.RawURLEncoding.EncodeToString(b)
	sealed, err = s.box.Seal(credential.Credentials{AccessToken: secret}, "webhook:"+id)
	return secret, sealed, err
}

func (s *Service) secret(ep *ent.WebhookEndpoint) (string, error) {
	c, err := s.box.Open(ep.SecretSealed, "webhook:"+ep.ID)
	if err != nil {
		return "", fmt.Errorf("signing secret: %w", err)
	}
	return c.AccessToken, nil
}

// describe is what the audit digests of an endpoint: its settings, not its secret.
func describe(ep *ent.WebhookEndpoint) any {
	return map[string]any{"name": ep.Name, "url": ep.URL, "events": ep.Events, "role": ep.Role, "enabled": ep.Enabled, "maxInFlight": ep.MaxInFlight}
}

// host is the URL's host, for summaries (paths may carry tokens).
func host(raw string) string {
	if u, err := checkURL(raw, true); err == nil {
		return u.Host
	}
	return "?"
}

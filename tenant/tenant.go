// Package tenant creates companies and their first owner.
package tenant

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/agent"
	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Input is a new tenant and its first owner.
type Input struct {
	Name          string
	Slug          string
	Timezone      string
	OwnerName     string
	OwnerEmail    string
	OwnerPassword string
}

// Create makes a tenant and its owner in one transaction. It is platform
// work: no viewer is needed, and the owner is created as the new tenant's
// system viewer.
func Create(ctx context.Context, client *ent.Client, in Input) (*ent.Tenant, *ent.Agent, error) {
	var (
		t     *ent.Tenant
		owner *ent.Agent
	)
	err := store.WithTx(ctx, client, func(ctx context.Context, tx *ent.Tx) error {
		if in.Timezone != "" {
			if _, err := time.LoadLocation(in.Timezone); err != nil {
				return apperr.Invalid("timezone", "%q is not an IANA time zone", in.Timezone)
			}
		}
		var err error
		create := tx.Tenant.Create().
			SetName(strings.TrimSpace(in.Name)).
			SetSlug(strings.ToLower(strings.TrimSpace(in.Slug)))
		if in.Timezone != "" {
			create.SetTimezone(in.Timezone)
		}
		if t, err = create.Save(viewer.Platform(ctx)); err != nil {
			return fmt.Errorf("create tenant: %w", err)
		}
		sctx := viewer.System(ctx, t.ID)
		if err := policy.SeedBuiltinRoles(sctx, tx.Client()); err != nil {
			return err
		}
		owner, err = agent.NewService(tx.Client(), nil, nil, nil, clock.Real()).Create(sctx, agent.CreateInput{
			Name:     in.OwnerName,
			Email:    in.OwnerEmail,
			Password: in.OwnerPassword,
			Roles:    []string{policy.RoleOwner},
		})
		if err != nil {
			return fmt.Errorf("create owner: %w", err)
		}
		return nil
	})
	return t, owner, err
}

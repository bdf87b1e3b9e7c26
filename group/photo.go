package group

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	_ "image/jpeg" // group pictures are JPEGs

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	entgroup "github.com/switchboard-dev/switchboard/ent/group"
	"github.com/switchboard-dev/switchboard/ent/groupphoto"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
)

// The Groups API's rules for a group's picture: a square JPEG of at least
// 192×192 pixels, at most 5 MB.
const (
	MaxPhotoBytes = 5 << 20
	MinPhotoSide  = 192
)

// SetPhoto sets a group's picture at the provider: checked here (a square
// JPEG of at least 192×192, at most 5 MB), kept until a durable job has
// uploaded it, confirmed by the provider's group_settings_update webhook (a
// refusal is said in Group.stateReason). Whoever may edit the group's info
// may do it.
func (s *Service) SetPhoto(ctx context.Context, groupID string, jpeg []byte) (*ent.Group, error) {
	if len(jpeg) > MaxPhotoBytes {
		return nil, apperr.Invalid("jpegBase64", "the picture is %d bytes; the provider takes at most %d", len(jpeg), MaxPhotoBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(jpeg))
	switch {
	case err != nil || format != "jpeg":
		return nil, apperr.Invalid("jpegBase64", "the picture must be a JPEG")
	case cfg.Width != cfg.Height:
		return nil, apperr.Invalid("jpegBase64", "the picture must be square, not %d×%d", cfg.Width, cfg.Height)
	case cfg.Width < MinPhotoSide:
		return nil, apperr.Invalid("jpegBase64", "the picture must be at least %d×%d, not %d×%d", MinPhotoSide, MinPhotoSide, cfg.Width, cfg.Height)
	}
	sum := sha256.Sum256(jpeg)
	digest := hex.EncodeToString(sum[:])
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Group, error) {
		g, err := tx.Group.Get(ctx, groupID)
		if err != nil {
			return nil, err
		}
		if err := mayAct(ctx, tx, g, g.EditInfo, "edit the group's info"); err != nil {
			return nil, err
		}
		if g.State == entgroup.StateDELETED || g.State == entgroup.StateDELETING || g.State == entgroup.StateFAILED {
			return nil, apperr.New(apperr.Conflict, "the group is %s", g.State)
		}
		if g.PhotoSha256 != nil && *g.PhotoSha256 == digest {
			audit.Unchanged(ctx)
			return g, nil
		}
		if _, err := tx.GroupPhoto.Delete().Where(groupphoto.GroupID(g.ID)).Exec(ctx); err != nil {
			return nil, err
		}
		if err := tx.GroupPhoto.Create().SetGroupID(g.ID).SetJpeg(jpeg).SetSha256(digest).Exec(ctx); err != nil {
			return nil, err
		}
		before := g.PhotoSha256
		if g, err = tx.Group.UpdateOne(g).SetPhotoSha256(digest).Save(ctx); err != nil {
			return nil, err
		}
		s.changed(ctx, tx, g.ID, realtime.KindUpdated)
		if err := s.op(ctx, tx, g, connector.GroupOpArgs{Op: connector.GroupOpPhoto, PhotoSHA256: digest}); err != nil {
			return nil, err
		}
		return g, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionGroupPhotoSet, TargetID: g.ID, Before: before, After: digest,
			Summary: fmt.Sprintf("set the picture of %s (%d×%d, %d bytes)", g.Subject, cfg.Width, cfg.Height, len(jpeg)),
		})
	})
}

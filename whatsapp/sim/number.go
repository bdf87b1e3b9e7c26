package sim

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/whatsapp"
)

// Number is a business phone number the simulator serves. Empty fields take
// the defaults of a healthy new number.
type Number struct {
	PhoneNumberID string `json:"phone_number_id"`      // decimal digits, required
	Token         string `json:"token,omitempty"`      // the access token calls must carry, required
	DisplayPhone  string `json:"display_phone_number"` // derived from the id when empty
	VerifiedName  string `json:"verified_name"`        // "Simulated Business" when empty
	Throughput    int    `json:"throughput"`           // messages per second; DefaultThroughput when 0
	Quality       string `json:"quality_rating"`       // GREEN, YELLOW, RED or UNKNOWN; GREEN when empty
	Tier          string `json:"messaging_limit_tier"` // TIER_250 ... TIER_UNLIMITED; TIER_1K when empty
	Status        string `json:"status"`               // CONNECTED, FLAGGED, RESTRICTED, BANNED, ...; CONNECTED when empty
	// GroupMode is how the number's groups behave: "" (or GroupModeCloud)
	// as Meta's Groups API documents, GroupModeApp like the phone app
	// (AppMaxParticipants members, added by number).
	GroupMode string `json:"group_mode,omitempty"`
}

// Group modes of a number.
const (
	GroupModeCloud = "cloud_api"
	GroupModeApp   = "app"
)

// ErrUnknownNumber is returned for a phone number id the simulator does not serve.
var ErrUnknownNumber = errors.New("sim: unknown phone number id")

var (
	qualities = []string{"GREEN", "YELLOW", "RED", "UNKNOWN"}
	// tiers in increasing order, so a change reads as an upgrade or a downgrade.
	tiers    = []string{"TIER_50", "TIER_250", "TIER_1K", "TIER_2K", "TIER_10K", "TIER_100K", "TIER_UNLIMITED"}
	statuses = []string{"CONNECTED", "DISCONNECTED", "FLAGGED", "MIGRATED", "PENDING", "RESTRICTED", "BANNED", "RATE_LIMITED", "DELETED", "UNVERIFIED"}
)

type number struct {
	Number
	bucket bucket // throughput
}

func (n Number) withDefaults() (Number, error) {
	if n.PhoneNumberID == "" || strings.Trim(n.PhoneNumberID, "0123456789") != "" {
		return n, fmt.Errorf("sim: phone number id %q is not decimal digits", n.PhoneNumberID)
	}
	if n.Token == "" {
		return n, fmt.Errorf("sim: number %s has no access token", n.PhoneNumberID)
	}
	if n.DisplayPhone == "" {
		n.DisplayPhone = "1555" + fmt.Sprintf("%07s", n.PhoneNumberID[max(0, len(n.PhoneNumberID)-7):])
	}
	if n.VerifiedName == "" {
		n.VerifiedName = "Simulated Business"
	}
	if n.Throughput == 0 {
		n.Throughput = DefaultThroughput
	}
	if n.Throughput < 0 {
		return n, fmt.Errorf("sim: number %s: negative throughput", n.PhoneNumberID)
	}
	n.Quality = cmp.Or(n.Quality, "GREEN")
	n.Tier = cmp.Or(n.Tier, "TIER_1K")
	n.Status = cmp.Or(n.Status, "CONNECTED")
	n.GroupMode = cmp.Or(n.GroupMode, GroupModeCloud)
	if n.GroupMode != GroupModeCloud && n.GroupMode != GroupModeApp {
		return n, fmt.Errorf("sim: number %s: unknown group mode %q", n.PhoneNumberID, n.GroupMode)
	}
	for _, check := range []struct {
		what, value string
		valid       []string
	}{{"quality", n.Quality, qualities}, {"tier", n.Tier, tiers}, {"status", n.Status, statuses}} {
		if !slices.Contains(check.valid, check.value) {
			return n, fmt.Errorf("sim: number %s: unknown %s %q", n.PhoneNumberID, check.what, check.value)
		}
	}
	return n, nil
}

// AddNumber starts serving a business number.
func (s *Simulator) AddNumber(n Number) error {
	n, err := n.withDefaults()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.numbers[n.PhoneNumberID]; ok {
		return fmt.Errorf("sim: number %s already exists", n.PhoneNumberID)
	}
	s.numbers[n.PhoneNumberID] = &number{Number: n}
	return nil
}

// Numbers lists the numbers served, by id.
func (s *Simulator) Numbers() []Number {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Number, 0, len(s.numbers))
	for _, n := range s.numbers {
		out = append(out, n.Number)
	}
	slices.SortFunc(out, func(a, b Number) int { return strings.Compare(a.PhoneNumberID, b.PhoneNumberID) })
	return out
}

// withNumber runs change on a number with s.mu held.
func (s *Simulator) withNumber(id string, change func(n *number) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.numbers[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownNumber, id)
	}
	return change(n)
}

// SetStatus changes a number's status, which the health endpoint then
// reports, and posts the account_update Meta sends for it: BANNED is
// DISABLED_UPDATE (DISABLE), RESTRICTED is ACCOUNT_RESTRICTION, CONNECTED
// after BANNED is DISABLED_UPDATE (REINSTATE). Other changes post nothing. A
// BANNED number cannot send (error 131031).
func (s *Simulator) SetStatus(id, status string) error {
	if !slices.Contains(statuses, status) {
		return fmt.Errorf("sim: unknown status %q", status)
	}
	return s.withNumber(id, func(n *number) error {
		previous := n.Status
		n.Status = status
		now := s.now()
		var event map[string]any
		switch {
		case status == "BANNED":
			event = map[string]any{"event": "DISABLED_UPDATE", "ban_info": map[string]string{"waba_ban_state": "DISABLE", "waba_ban_date": now.Format("January 2, 2006")}}
		case status == "RESTRICTED":
			event = map[string]any{"event": "ACCOUNT_RESTRICTION", "restriction_info": []map[string]any{
				{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": now.Add(24 * time.Hour).Unix()},
			}}
		case status == "CONNECTED" && previous == "BANNED":
			event = map[string]any{"event": "DISABLED_UPDATE", "ban_info": map[string]string{"waba_ban_state": "REINSTATE", "waba_ban_date": now.Format("January 2, 2006")}}
		}
		if event != nil {
			s.emit(s.accountWebhook(whatsapp.FieldAccountUpdate, event))
		}
		return nil
	})
}

// SetQuality changes a number's quality rating and posts the
// phone_number_quality_update Meta sends: falling to RED flags the number
// (event FLAGGED, status FLAGGED), leaving RED unflags it (UNFLAGGED,
// CONNECTED). Moves between GREEN and YELLOW post nothing.
func (s *Simulator) SetQuality(id, quality string) error {
	if !slices.Contains(qualities, quality) {
		return fmt.Errorf("sim: unknown quality rating %q", quality)
	}
	return s.withNumber(id, func(n *number) error {
		wasRed := n.Quality == "RED"
		n.Quality = quality
		var event string
		switch {
		case quality == "RED" && !wasRed:
			event = "FLAGGED"
			if n.Status == "CONNECTED" {
				n.Status = "FLAGGED"
			}
		case quality != "RED" && wasRed:
			event = "UNFLAGGED"
			if n.Status == "FLAGGED" {
				n.Status = "CONNECTED"
			}
		default:
			return nil
		}
		s.emit(s.accountWebhook(whatsapp.FieldQualityUpdate, map[string]string{
			"display_phone_number": n.DisplayPhone, "event": event, "current_limit": n.Tier,
		}))
		return nil
	})
}

// SetTier changes a number's messaging limit tier and posts the
// phone_number_quality_update (UPGRADE or DOWNGRADE) Meta sends.
func (s *Simulator) SetTier(id, tier string) error {
	rank := slices.Index(tiers, tier)
	if rank < 0 {
		return fmt.Errorf("sim: unknown messaging limit tier %q", tier)
	}
	return s.withNumber(id, func(n *number) error {
		old := n.Tier
		if old == tier {
			return nil
		}
		n.Tier = tier
		event := "UPGRADE"
		if rank < slices.Index(tiers, old) {
			event = "DOWNGRADE"
		}
		s.emit(s.accountWebhook(whatsapp.FieldQualityUpdate, map[string]string{
			"display_phone_number": n.DisplayPhone, "event": event, "current_limit": tier, "old_limit": old,
		}))
		return nil
	})
}

// SetThroughput changes how many messages per second a number may send
// before error 130429.
func (s *Simulator) SetThroughput(id string, perSecond int) error {
	if perSecond <= 0 {
		return fmt.Errorf("sim: throughput %d is not positive", perSecond)
	}
	return s.withNumber(id, func(n *number) error {
		n.Throughput = perSecond
		return nil
	})
}

// businessNumbers answers GET /{waba_id}/phone_numbers: the numbers of the
// business account (every number the simulator serves belongs to
// Config.WABAID) that the token owns. A token that owns none is refused.
func (s *Simulator) businessNumbers(r *http.Request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("node")
	if id != s.cfg.WABAID {
		return nil, s.authorize(r, id, nil)
	}
	token := bearer(r)
	data := []map[string]any{}
	for _, n := range s.numbers {
		if sameToken(token, n.Token) {
			data = append(data, map[string]any{"id": n.PhoneNumberID, "display_phone_number": n.DisplayPhone,
				"verified_name": n.VerifiedName, "quality_rating": n.Quality})
		}
	}
	if len(data) == 0 {
		return nil, errTokenInvalid()
	}
	slices.SortFunc(data, func(a, b map[string]any) int { return strings.Compare(a["id"].(string), b["id"].(string)) })
	return map[string]any{"data": data, "paging": emptyPaging}, nil
}

// health answers GET /{phone_number_id}?fields=..., with s.mu held.
func (s *Simulator) health(r *http.Request) (any, *apiError) {
	n, err := s.numberNode(r)
	if err != nil {
		return nil, err
	}
	fields := "verified_name,code_verification_status,display_phone_number,quality_rating,platform_type,throughput"
	if f := r.URL.Query().Get("fields"); f != "" {
		fields = f
	}
	level := "STANDARD"
	if n.Throughput > DefaultThroughput {
		level = "HIGH"
	}
	known := map[string]any{
		"verified_name":            n.VerifiedName,
		"display_phone_number":     n.DisplayPhone,
		"quality_rating":           n.Quality,
		"messaging_limit_tier":     n.Tier,
		"status":                   n.Status,
		"throughput":               map[string]string{"level": level},
		"platform_type":            "CLOUD_API",
		"code_verification_status": "VERIFIED",
		"name_status":              "APPROVED",
	}
	out := map[string]any{"id": n.PhoneNumberID}
	for f := range strings.SplitSeq(fields, ",") {
		f = strings.TrimSpace(f)
		if f == "" || f == "id" {
			continue
		}
		v, ok := known[f]
		if !ok {
			return nil, &apiError{status: http.StatusBadRequest, code: whatsapp.CodeInvalidParameter, typ: "OAuthException",
				message: fmt.Sprintf("(#100) Tried accessing nonexisting field (%s) on node type (WhatsAppBusinessPhoneNumber)", f)}
		}
		out[f] = v
	}
	return out, nil
}

package whatsapp

import (
	"encoding/json"
	"time"
)

// AccountUpdate is an account_update event about the WhatsApp Business
// Account: bans, restrictions, policy violations, partner and pricing changes.
// Only what bears on whether the account can send is typed; the rest of each
// event stays in Change.Raw.
type AccountUpdate struct {
	Event string // "ACCOUNT_RESTRICTION", "DISABLED_UPDATE", "ACCOUNT_OFFBOARDED", ...

	BanState string // DISABLED_UPDATE: e.g. "DISABLE", "REINSTATE"
	BanDate  string // as Meta writes it, e.g. "April 17, 2025"

	Restrictions  []Restriction // ACCOUNT_RESTRICTION
	ViolationType string        // ACCOUNT_VIOLATION

	// DisconnectionReason says why a partner was removed, when it was not
	// the business's choice, e.g. "PRIMARY_INACTIVITY".
	DisconnectionReason string
}

// Restriction is a capability the account has lost until Expires.
type Restriction struct {
	Type    string // e.g. "RESTRICTED_BIZ_INITIATED_MESSAGING"
	Expires time.Time
}

// QualityUpdate is a phone_number_quality_update: the number's messaging
// limit or throughput changed. Change.DisplayPhone says which number; this
// event carries no phone number id.
type QualityUpdate struct {
	Event        string // "FLAGGED", "UNFLAGGED", "UPGRADE", "DOWNGRADE", "ONBOARDING", "THROUGHPUT_UPGRADE", ...
	CurrentLimit string // messaging tier, e.g. "TIER_1K", "TIER_UNLIMITED"
	OldLimit     string // set on limit changes only
	// BusinessLimit is the limit shared by the owning business portfolio
	// (max_daily_conversations_per_business), which replaces the per-number tier.
	BusinessLimit string
}

// TemplateUpdate is a message_template_status_update: a template was
// approved, rejected, paused or disabled.
type TemplateUpdate struct {
	Event    string // "APPROVED", "REJECTED", "PAUSED", "DISABLED", ...
	ID       string
	Name     string
	Language string
	Category string
	Reason   string // a code such as "NONE" or "INVALID_FORMAT"
	Detail   string // rejection_info.reason: the reason in words, when given
}

func parseAccountUpdate(value json.RawMessage) (*AccountUpdate, error) {
	var w struct {
		Event   string `json:"event"`
		BanInfo struct {
			State string `json:"waba_ban_state"`
			Date  string `json:"waba_ban_date"`
		} `json:"ban_info"`
		RestrictionInfo []struct {
			Type       string   `json:"restriction_type"`
			Expiration unixTime `json:"expiration"`
		} `json:"restriction_info"`
		ViolationInfo struct {
			Type string `json:"violation_type"`
		} `json:"violation_info"`
		DisconnectionInfo struct {
			Reason string `json:"reason"`
		} `json:"disconnection_info"`
	}
	if err := json.Unmarshal(value, &w); err != nil {
		return nil, err
	}
	u := &AccountUpdate{
		Event:               w.Event,
		BanState:            w.BanInfo.State,
		BanDate:             w.BanInfo.Date,
		ViolationType:       w.ViolationInfo.Type,
		DisconnectionReason: w.DisconnectionInfo.Reason,
	}
	for _, r := range w.RestrictionInfo {
		u.Restrictions = append(u.Restrictions, Restriction{Type: r.Type, Expires: r.Expiration.Time})
	}
	return u, nil
}

func parseQualityUpdate(value json.RawMessage) (*QualityUpdate, string, error) {
	var w struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		Event              string `json:"event"`
		CurrentLimit       string `json:"current_limit"`
		OldLimit           string `json:"old_limit"`
		BusinessLimit      string `json:"max_daily_conversations_per_business"`
	}
	if err := json.Unmarshal(value, &w); err != nil {
		return nil, "", err
	}
	return &QualityUpdate{Event: w.Event, CurrentLimit: w.CurrentLimit, OldLimit: w.OldLimit, BusinessLimit: w.BusinessLimit}, w.DisplayPhoneNumber, nil
}

func parseTemplateUpdate(value json.RawMessage) (*TemplateUpdate, error) {
	var w struct {
		Event         string      `json:"event"`
		ID            json.Number `json:"message_template_id"` // a JSON number, kept as written
		Name          string      `json:"message_template_name"`
		Language      string      `json:"message_template_language"`
		Category      string      `json:"message_template_category"`
		Reason        string      `json:"reason"`
		RejectionInfo struct {
			Reason string `json:"reason"`
		} `json:"rejection_info"`
	}
	if err := json.Unmarshal(value, &w); err != nil {
		return nil, err
	}
	return &TemplateUpdate{
		Event:    w.Event,
		ID:       w.ID.String(),
		Name:     w.Name,
		Language: w.Language,
		Category: w.Category,
		Reason:   w.Reason,
		Detail:   w.RejectionInfo.Reason,
	}, nil
}

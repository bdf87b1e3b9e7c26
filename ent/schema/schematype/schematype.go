// Package schematype holds the Go types stored in JSON columns of the data
// model. They are shared by ent (storage) and gqlgen (API) so both speak the
// same shape.
package schematype

import (
	"fmt"
	"io"
	"strconv"
)

// TenantSettings are a tenant's adjustable limits and hours.
type TenantSettings struct {
	// BusinessHours lists the opening hours per weekday in the tenant's timezone.
	BusinessHours []BusinessHours `json:"businessHours,omitempty"`
	// RetentionDays is how long messages are kept; 0 keeps them forever.
	RetentionDays int `json:"retentionDays,omitempty"`
}

// BusinessHours is one opening window: Weekday 0 is Sunday, times are "HH:MM".
type BusinessHours struct {
	Weekday int    `json:"weekday"`
	Open    string `json:"open"`
	Close   string `json:"close"`
}

// AttributeType is the type of a contact's custom attribute value.
type AttributeType string

// Attribute types.
const (
	AttributeString AttributeType = "STRING"
	AttributeNumber AttributeType = "NUMBER"
	AttributeBool   AttributeType = "BOOL"
	AttributeTime   AttributeType = "TIME"
)

// ContactAttribute is one typed custom attribute of a contact, such as
// last_purchase_at (TIME). Value holds the canonical text form of the value.
type ContactAttribute struct {
	Key   string        `json:"key"`
	Type  AttributeType `json:"type"`
	Value string        `json:"value"`
}

// MediaRef points at the media of a message: a provider media id, a link, or both.
type MediaRef struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	MimeType string `json:"mimeType,omitempty"`
	Filename string `json:"filename,omitempty"`
	Caption  string `json:"caption,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
}

// Audience says who in a group may do something: everyone or admins only.
type Audience string

// Audiences.
const (
	AudienceAll    Audience = "ALL"
	AudienceAdmins Audience = "ADMINS"
)

// Values lists the audiences, for ent's enum column.
func (Audience) Values() []string {
	return []string{string(AudienceAll), string(AudienceAdmins)}
}

// MarshalGQL writes the audience as a GraphQL enum value.
func (a Audience) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(a))) }

// UnmarshalGQL reads an audience from a GraphQL enum value.
func (a *Audience) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok || (s != string(AudienceAll) && s != string(AudienceAdmins)) {
		return fmt.Errorf("%v is not a valid GroupAudience", v)
	}
	*a = Audience(s)
	return nil
}

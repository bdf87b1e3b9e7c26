package whatsapp

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// ProviderTemplate is a message template as the business account holds it
// (GET /{waba-id}/message_templates).
type ProviderTemplate struct {
	ID         string           `json:"id"`
	Name       string           `json:"name"`
	Language   string           `json:"language"`
	Category   string           `json:"category"` // MARKETING, UTILITY or AUTHENTICATION
	Status     string           `json:"status"`
	Components []map[string]any `json:"components"`
}

var templateVariable = regexp.MustCompile(`\{\{\s*[0-9]+\s*\}\}`)

// Body is the template's body text and how many variables it has.
func (t ProviderTemplate) Body() (string, int) {
	for _, c := range t.Components {
		if strings.EqualFold(fmt.Sprint(c["type"]), "BODY") {
			text, _ := c["text"].(string)
			return text, len(templateVariable.FindAllString(text, -1))
		}
	}
	return "", 0
}

// HeaderFormat is the format of the template's header (TEXT, IMAGE, VIDEO,
// DOCUMENT, LOCATION), empty when it has none.
func (t ProviderTemplate) HeaderFormat() string {
	for _, c := range t.Components {
		if strings.EqualFold(fmt.Sprint(c["type"]), "HEADER") {
			f, _ := c["format"].(string)
			return strings.ToUpper(f)
		}
	}
	return ""
}

// maxTemplatePages bounds the pages Templates reads (100 templates each).
const maxTemplatePages = 50

// Templates lists the message templates of a business account, following
// the pages.
func (c *Client) Templates(ctx context.Context, wabaID, token string) ([]ProviderTemplate, error) {
	query := url.Values{"fields": {"id,name,language,category,status,components"}, "limit": {"100"}}
	all, err := pages[ProviderTemplate](ctx, c, wabaID, "message_templates", token, query, maxTemplatePages)
	if err != nil {
		return nil, fmt.Errorf("whatsapp: templates of %s: %w", wabaID, err)
	}
	return all, nil
}

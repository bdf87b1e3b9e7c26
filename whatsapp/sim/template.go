package sim

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/switchboard-dev/switchboard/whatsapp"
)

// Template is a message template of the simulated business account, served
// by GET /{waba-id}/message_templates as Meta serves it.
type Template struct {
	ID         string           `json:"id"`
	Name       string           `json:"name"`
	Language   string           `json:"language"`
	Category   string           `json:"category"` // MARKETING, UTILITY or AUTHENTICATION
	Status     string           `json:"status"`   // APPROVED, PENDING, REJECTED, PAUSED, DISABLED
	Components []map[string]any `json:"components,omitempty"`
}

// templateStatuses are the statuses Meta gives a template.
var templateStatuses = []string{"APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED", "IN_APPEAL", "PENDING_DELETION"}

// TextTemplate builds a template whose body is body (with {{1}}, {{2}}…), and
// an image header when withImage is set.
func TextTemplate(name, language, category, body string, withImage bool) Template {
	var comps []map[string]any
	if withImage {
		comps = append(comps, map[string]any{"type": "HEADER", "format": "IMAGE"})
	}
	comps = append(comps, map[string]any{"type": "BODY", "text": body})
	return Template{Name: name, Language: language, Category: category, Status: "APPROVED", Components: comps}
}

// AddTemplate adds a template to the business account (approved unless its
// Status says otherwise) and returns its id. The template's category prices
// its sends.
func (s *Simulator) AddTemplate(t Template) (string, error) {
	if t.Name == "" || t.Language == "" {
		return "", fmt.Errorf("sim: a template needs a name and a language")
	}
	if !slices.Contains([]string{"MARKETING", "UTILITY", "AUTHENTICATION"}, t.Category) {
		return "", fmt.Errorf("sim: template category %q is not MARKETING, UTILITY or AUTHENTICATION", t.Category)
	}
	if t.Status == "" {
		t.Status = "APPROVED"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.ID == "" {
		t.ID = s.ids.graphID()
	}
	if s.templates == nil {
		s.templates = map[string]*Template{}
	}
	s.templates[templateKey(t.Name, t.Language)] = &t
	return t.ID, nil
}

// SetTemplateStatus changes a template's status (an approval, a rejection,
// a pause) and posts the message_template_status_update Meta sends for it.
func (s *Simulator) SetTemplateStatus(name, language, status, reason string) error {
	if !slices.Contains(templateStatuses, status) {
		return fmt.Errorf("sim: unknown template status %q", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.templates[templateKey(name, language)]
	if !ok {
		return fmt.Errorf("sim: no template %s (%s)", name, language)
	}
	t.Status = status
	if reason == "" {
		reason = "NONE"
	}
	s.emit(s.accountWebhook(whatsapp.FieldTemplateStatus, map[string]any{
		"event": status, "message_template_id": jsonNumber(t.ID), "message_template_name": t.Name,
		"message_template_language": t.Language, "message_template_category": t.Category, "reason": reason,
	}))
	return nil
}

// jsonNumber writes an id as a JSON number, as Meta writes template ids.
type jsonNumber string

func (n jsonNumber) MarshalJSON() ([]byte, error) { return []byte(n), nil }

func templateKey(name, language string) string { return name + "\x00" + language }

// listTemplates answers GET /{waba-id}/message_templates.
func (s *Simulator) listTemplates(r *http.Request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("node")
	if id != s.cfg.WABAID {
		return nil, s.authorize(r, id, nil)
	}
	token, known := bearer(r), false
	for _, n := range s.numbers {
		known = known || sameToken(token, n.Token)
	}
	if !known {
		return nil, errTokenInvalid()
	}
	data := make([]Template, 0, len(s.templates))
	for _, t := range s.templates {
		data = append(data, *t)
	}
	slices.SortFunc(data, func(a, b Template) int { return strings.Compare(a.ID, b.ID) })
	return map[string]any{"data": data, "paging": emptyPaging}, nil
}

// template is, with s.mu held, the template a send names, or nil.
func (s *Simulator) template(name, language string) *Template {
	return s.templates[templateKey(name, language)]
}

var variablePattern = regexp.MustCompile(`\{\{\d+\}\}`)

// checkTemplateSend refuses, with s.mu held, a send of a template the
// account has but that is not approved (132001, 132015) or whose body
// parameters do not match its variables (132000). Templates the account
// does not hold are accepted: tests that send templates without declaring
// them keep working.
func (s *Simulator) checkTemplateSend(o *outgoing) *apiError {
	t := s.template(o.template, o.templateLanguage)
	if t == nil {
		return nil
	}
	switch t.Status {
	case "APPROVED":
	case "PAUSED":
		return &apiError{status: http.StatusBadRequest, code: 132015, typ: "OAuthException", message: "Template is Paused"}
	default:
		return &apiError{status: http.StatusNotFound, code: 132001, typ: "OAuthException", message: "Template name does not exist in the translation"}
	}
	want := 0
	for _, c := range t.Components {
		if c["type"] == "BODY" {
			text, _ := c["text"].(string)
			want = len(variablePattern.FindAllString(text, -1))
		}
	}
	if o.bodyParams != want {
		return &apiError{status: http.StatusBadRequest, code: 132000, typ: "OAuthException",
			message: fmt.Sprintf("Number of parameters does not match the expected number of params: %d given, %d expected", o.bodyParams, want)}
	}
	return nil
}

package graph

import (
	"context"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/graph/model"
	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
)

// providerMessage reads back what the provider sent for a message (its raw
// webhook message, kept in content): inbound messages and echoes. A message
// the business sent from here keeps what it asked to send there instead: no
// wamid inside, so nothing is read.
func providerMessage(ctx context.Context, m *ent.Message, field string) (*whatsapp.Message, bool) {
	if len(m.Content) == 0 || m.ProviderMessageID == nil || !tombstoneVisible(ctx, m, field) {
		return nil, false
	}
	w, err := whatsapp.DecodeMessage(m.Content)
	if err != nil || w.ID != *m.ProviderMessageID {
		return nil, false
	}
	return &w, true
}

// messageContent is the typed content of a provider message; nil for the
// kinds whose content is the body and media.
func messageContent(w *whatsapp.Message) model.MessageContent {
	switch {
	case w.Type == "location" && w.Location != nil:
		l := w.Location
		return &model.LocationContent{Latitude: l.Latitude, Longitude: l.Longitude, Name: opt(l.Name), Address: opt(l.Address), URL: opt(l.URL)}
	case w.Type == "contacts":
		out := &model.ContactsContent{Contacts: make([]*model.SharedContact, 0, len(w.Contacts))}
		for _, c := range w.Contacts {
			sc := &model.SharedContact{FormattedName: opt(c.Name.Formatted), FirstName: opt(c.Name.First), LastName: opt(c.Name.Last),
				Organization: opt(c.Org.Company), Emails: []string{}, Phones: []*model.SharedContactPhone{}}
			for _, e := range c.Emails {
				sc.Emails = append(sc.Emails, e.Email)
			}
			for _, p := range c.Phones {
				sc.Phones = append(sc.Phones, &model.SharedContactPhone{Phone: opt(p.Phone), WaID: opt(p.WAID), Type: opt(p.Type)})
			}
			out.Contacts = append(out.Contacts, sc)
		}
		return out
	case w.Type == "interactive" && w.Interactive != nil:
		r := w.Interactive
		return &model.InteractiveReplyContent{Type: r.Type, ReplyID: opt(r.ID), Title: opt(r.Title), Description: opt(r.Description),
			FlowName: opt(r.Name), FlowResponseJSON: opt(r.ResponseJSON)}
	case w.Type == "button" && w.Button != nil:
		return &model.ButtonReplyContent{Payload: opt(w.Button.Payload), Text: opt(w.Button.Text)}
	case w.Type == "order" && w.Order != nil:
		o := &model.OrderContent{CatalogID: w.Order.CatalogID, Text: opt(w.Order.Text), Items: []*model.OrderItem{}}
		for _, it := range w.Order.Items {
			o.Items = append(o.Items, &model.OrderItem{ProductRetailerID: it.ProductRetailerID, Quantity: it.Quantity, ItemPrice: it.ItemPrice, Currency: it.Currency})
		}
		return o
	case w.Type == "unsupported" || len(w.Errors) > 0 && w.Type != "text":
		u := &model.UnsupportedContent{Errors: []*model.ProviderError{}}
		for _, e := range w.Errors {
			u.Errors = append(u.Errors, &model.ProviderError{Code: e.Code, Title: opt(e.Title), Message: opt(e.Message), Details: opt(e.Details)})
		}
		return u
	}
	return nil
}

func referral(r *whatsapp.Referral) *model.Referral {
	if r == nil {
		return nil
	}
	return &model.Referral{SourceURL: opt(r.SourceURL), SourceID: opt(r.SourceID), SourceType: opt(r.SourceType), Headline: opt(r.Headline),
		Body: opt(r.Body), MediaType: opt(r.MediaType), ImageURL: opt(r.ImageURL), VideoURL: opt(r.VideoURL), ThumbnailURL: opt(r.ThumbnailURL),
		CtwaClid: opt(r.CTWAClickID)}
}

// opt is nil for an empty string.
func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func inboundDeliveries(ds []connector.Delivery) []*model.InboundDelivery {
	out := make([]*model.InboundDelivery, len(ds))
	for i, d := range ds {
		out[i] = &model.InboundDelivery{ID: d.ID, ReceivedAt: d.CreatedAt, State: d.State, Attempts: d.Attempts,
			ProcessedAt: d.ProcessedAt, PhoneNumberIDs: d.PhoneNumberIDs}
		if out[i].PhoneNumberIDs == nil {
			out[i].PhoneNumberIDs = []string{}
		}
		if !d.Foreign {
			out[i].Error = opt(d.Error)
		}
	}
	return out
}

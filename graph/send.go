package graph

import (
	"strings"

	"github.com/switchboard-dev/switchboard/graph/model"
	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
)

// outbound turns sendMessage's input into what the outbox sends.
func outbound(in model.SendMessageInput) connector.Outbound {
	var o connector.Outbound
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	if t := in.Template; t != nil {
		o.Template = &whatsapp.Template{Name: t.Name, Language: t.Language, BodyParams: t.Parameters}
	}
	if m := in.Media; m != nil {
		o.Media = &whatsapp.OutgoingMedia{Kind: strings.ToLower(string(m.Kind)), ID: str(m.ID), Link: str(m.Link),
			Caption: str(m.Caption), Filename: str(m.Filename)}
	}
	if i := in.Interactive; i != nil {
		x := &whatsapp.Interactive{Header: str(i.Header), Body: i.Body, Footer: str(i.Footer)}
		for _, b := range i.Buttons {
			x.Buttons = append(x.Buttons, whatsapp.ReplyButton{ID: b.ID, Title: b.Title})
		}
		if l := i.List; l != nil {
			x.List = &whatsapp.List{Button: l.Button}
			for _, sec := range l.Sections {
				s := whatsapp.ListSection{Title: str(sec.Title)}
				for _, r := range sec.Rows {
					s.Rows = append(s.Rows, whatsapp.ListRow{ID: r.ID, Title: r.Title, Description: str(r.Description)})
				}
				x.List.Sections = append(x.List.Sections, s)
			}
		}
		o.Interactive = x
	}
	return o
}

package graph

import (
	"context"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/viewer"
)

// downloadURL is an export's signed link, for its requester only: the file
// holds what their field rules let through, which another viewer's may not.
func (r *conversationExportResolver) downloadURL(ctx context.Context, x *ent.ConversationExport) *string {
	v := viewer.FromContext(ctx)
	if v == nil || v.AgentID == "" || v.AgentID != x.RequesterID {
		return nil
	}
	link := r.exports.Link(x)
	if link == "" {
		return nil
	}
	return &link
}

package graph

import (
	"context"
	"net/http"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/graph/model"
	"github.com/switchboard-dev/switchboard/viewer"
)

func viewerOf(ctx context.Context) (*model.Viewer, error) {
	v := viewer.FromContext(ctx)
	if v == nil {
		return nil, apperr.New(apperr.Unauthenticated, "sign in first")
	}
	kind := model.ViewerKindAgent
	if v.Kind == viewer.KindAPIKey {
		kind = model.ViewerKindAPIKey
	}
	return &model.Viewer{Kind: kind, TenantID: v.TenantID, AgentID: v.AgentID, Roles: v.Roles}, nil
}

func authPayload(g *auth.Grant) *model.AuthPayload {
	return &model.AuthPayload{
		AccessToken:           g.AccessToken,
		AccessTokenExpiresAt:  g.AccessExpiresAt,
		RefreshToken:          g.RefreshToken,
		RefreshTokenExpiresAt: g.RefreshExpiresAt,
		Agent:                 g.Agent,
	}
}

type requestKey struct{}

// withRequest keeps the HTTP request in the context for clientInfo.
func withRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, r)))
	})
}

// clientInfo describes the HTTP client of the request in ctx, for sessions.
func clientInfo(ctx context.Context) auth.ClientInfo {
	r, _ := ctx.Value(requestKey{}).(*http.Request)
	if r == nil {
		return auth.ClientInfo{}
	}
	return auth.ClientOf(r)
}

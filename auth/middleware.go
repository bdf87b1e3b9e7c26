package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Middleware puts the viewer of the request's bearer credential in its
// context. Without an Authorization header the request goes on anonymous (the
// GraphQL layer decides what an anonymous caller may do); with a bad one it is
// answered 401 with an UNAUTHENTICATED GraphQL error.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		scheme, cred, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(cred) == "" {
			unauthenticated(w, "the Authorization header must be \"Bearer <token>\"")
			return
		}
		ctx, _, err := s.Admit(r.Context(), strings.TrimSpace(cred))
		if err != nil {
			if apperr.CodeOf(err) == apperr.Unauthenticated {
				unauthenticated(w, err.Error())
				return
			}
			http.Error(w, "authentication unavailable", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Admit authenticates credential (an access token or an API key) and
// returns ctx carrying its viewer and their decisions. An error with the
// Unauthenticated code is a refusal; any other is a failure to decide.
func (s *Service) Admit(ctx context.Context, credential string) (context.Context, *viewer.Viewer, error) {
	v, err := s.Authenticate(ctx, credential)
	if err != nil {
		return nil, nil, err
	}
	ctx, err = s.authz.Admit(viewer.NewContext(ctx, v), v)
	if err != nil {
		return nil, nil, err
	}
	return ctx, v, nil
}

func unauthenticated(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{
			"message":    msg,
			"extensions": map[string]any{"code": apperr.Unauthenticated},
		}},
	})
}

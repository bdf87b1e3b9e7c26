package sim

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxRequestBytes bounds a Graph API request body; media uploads have their own bound.
const maxRequestBytes = 1 << 20

// routes serves the Cloud API under /{version}/ (any version) and the control
// API under /_sim/.
func (s *Simulator) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{version}/{node}/messages", s.graph(s.postMessage))
	mux.HandleFunc("POST /{version}/{node}/media", s.graph(s.uploadMedia))
	mux.HandleFunc("GET /{version}/{node}", s.graph(s.getNode))
	mux.HandleFunc("DELETE /{version}/{node}", s.graph(s.deleteNode))
	mux.HandleFunc("POST /{version}/{node}", s.graph(s.groupRoute(s.updateGroup)))
	mux.HandleFunc("GET /{version}/{node}/groups", s.graph(s.listGroups))
	mux.HandleFunc("GET /{version}/{node}/phone_numbers", s.graph(s.businessNumbers))
	mux.HandleFunc("GET /{version}/{node}/message_templates", s.graph(s.listTemplates))
	mux.HandleFunc("POST /{version}/{node}/groups", s.graph(s.createGroup))
	mux.HandleFunc("GET /{version}/{node}/invite_link", s.graph(s.groupRoute(s.getInviteLink)))
	mux.HandleFunc("POST /{version}/{node}/invite_link", s.graph(s.groupRoute(s.resetInviteLink)))
	mux.HandleFunc("GET /{version}/{node}/join_requests", s.graph(s.groupRoute(s.listJoinRequests)))
	mux.HandleFunc("POST /{version}/{node}/join_requests", s.graph(s.groupRoute(s.approveJoinRequests)))
	mux.HandleFunc("DELETE /{version}/{node}/join_requests", s.graph(s.groupRoute(s.rejectJoinRequests)))
	mux.HandleFunc("DELETE /{version}/{node}/participants", s.graph(s.groupRoute(s.removeParticipants)))
	mux.HandleFunc("POST /{version}/{node}/participants", s.graph(s.groupRoute(s.addParticipants)))
	mux.HandleFunc("/", s.graph(func(r *http.Request) (any, *apiError) {
		return nil, errInvalidParameter("Unknown path components: %s", r.URL.Path)
	}))
	s.controlRoutes(mux)
	return mux
}

// graph wraps a Cloud API handler: the added latency and the outage come
// first, then the answer, JSON either way.
func (s *Simulator) graph(h func(*http.Request) (any, *apiError)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		latency, down := s.faults.Latency, s.outage.error(s.now())
		s.mu.Unlock()
		if latency > 0 {
			select {
			case <-time.After(latency):
			case <-r.Context().Done():
				return
			}
		}
		if down != nil {
			s.writeError(w, down)
			return
		}
		out, err := h(r)
		if err != nil {
			s.writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Simulator) writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_request"`)
	writeJSON(w, e.status, e.envelope(s.ids.token()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeBody reads a JSON request body into v.
func decodeBody(r *http.Request, v any) *apiError {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	if err != nil {
		return errInvalidParameter("could not read the request body")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errInvalidParameter("the request body is not valid JSON: %v", err)
	}
	return nil
}

// bearer is the request's access token.
func bearer(r *http.Request) string {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return strings.TrimSpace(token)
}

// authorize checks, with s.mu held, that the request carries the access token
// of owner, the number node id belongs to. An unknown node is Graph's
// "does not exist" error, unless the token is nobody's: then it is 190.
func (s *Simulator) authorize(r *http.Request, id string, owner *number) *apiError {
	token := bearer(r)
	if owner == nil {
		for _, n := range s.numbers {
			if sameToken(token, n.Token) {
				return errNoNode(r.Method, id)
			}
		}
		return errTokenInvalid()
	}
	if !sameToken(token, owner.Token) {
		return errTokenInvalid()
	}
	return nil
}

func sameToken(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// numberNode is, with s.mu held, the number the path names, once the token
// is checked.
func (s *Simulator) numberNode(r *http.Request) (*number, *apiError) {
	id := r.PathValue("node")
	n := s.numbers[id]
	if err := s.authorize(r, id, n); err != nil {
		return nil, err
	}
	return n, nil
}

// getNode answers GET /{id}: a number's health, a media file's URL or a
// group's metadata.
func (s *Simulator) getNode(r *http.Request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("node")
	if _, ok := s.numbers[id]; ok {
		return s.health(r)
	}
	if _, ok := s.media[id]; ok {
		return s.mediaInfo(r)
	}
	if _, ok := s.groups[id]; ok {
		return s.groupInfo(r)
	}
	return nil, s.authorize(r, id, nil)
}

// deleteNode answers DELETE /{id}: a media file or a group.
func (s *Simulator) deleteNode(r *http.Request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("node")
	if _, ok := s.media[id]; ok {
		return s.deleteMedia(r)
	}
	if _, ok := s.groups[id]; ok {
		return s.deleteGroup(r)
	}
	return nil, s.authorize(r, id, nil)
}

// success is the answer of calls that return nothing else.
var success = map[string]bool{"success": true}

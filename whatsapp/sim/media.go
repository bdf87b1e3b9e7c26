package sim

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// maxMediaBytes bounds an upload; the simulator keeps files in memory.
const maxMediaBytes = 16 << 20

// mediaFile is an uploaded file, or the attachment of a customer's message.
type mediaFile struct {
	number   string // the business number it belongs to
	mimeType string
	data     []byte
	sha256   string
}

// addMedia stores a file, with s.mu held, and returns its id.
func (s *Simulator) addMedia(number, mimeType string, data []byte) (string, *mediaFile) {
	sum := sha256.Sum256(data)
	f := &mediaFile{number: number, mimeType: mimeType, data: data, sha256: base64.StdEncoding.EncodeToString(sum[:])}
	id := s.ids.graphID()
	s.media[id] = f
	return id, f
}

// uploadMedia answers POST /{phone_number_id}/media, a multipart form with
// messaging_product, file and type.
func (s *Simulator) uploadMedia(r *http.Request) (any, *apiError) {
	s.mu.Lock()
	_, apiErr := s.numberNode(r)
	s.mu.Unlock()
	if apiErr != nil {
		return nil, apiErr
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxMediaBytes+1<<20)
	if err := r.ParseMultipartForm(maxMediaBytes); err != nil {
		return nil, errInvalidParameter("the upload is not a multipart form: %v", err)
	}
	if r.FormValue("messaging_product") != "whatsapp" {
		return nil, errInvalidParameter("The parameter messaging_product is required and must be 'whatsapp'.")
	}
	file, header, err := r.FormFile("file")
	if err != nil {
		return nil, errInvalidParameter("The parameter file is required.")
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxMediaBytes+1))
	if err != nil || len(data) > maxMediaBytes {
		return nil, errInvalidParameter("the file is larger than %d bytes", maxMediaBytes)
	}
	mimeType := r.FormValue("type")
	if mimeType == "" {
		mimeType = header.Header.Get("Content-Type")
	}
	if _, _, err := mime.ParseMediaType(mimeType); err != nil {
		return nil, errInvalidParameter("The parameter type is required: the file's MIME type.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := s.addMedia(r.PathValue("node"), mimeType, data)
	return map[string]string{"id": id}, nil
}

// mediaNode is, with s.mu held, the media file the path names, once the
// token is checked.
func (s *Simulator) mediaNode(r *http.Request, id string) (*mediaFile, *apiError) {
	f := s.media[id]
	var owner *number
	if f != nil {
		owner = s.numbers[f.number]
	}
	if err := s.authorize(r, id, owner); err != nil {
		return nil, err
	}
	return f, nil
}

// mediaInfo answers GET /{media_id}, with s.mu held: a download URL that
// needs the same token.
func (s *Simulator) mediaInfo(r *http.Request) (any, *apiError) {
	id := r.PathValue("node")
	f, err := s.mediaNode(r, id)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return map[string]any{
		"messaging_product": "whatsapp",
		"url":               scheme + "://" + r.Host + mountPrefix(r) + "/_sim/media/" + id + "/content",
		"mime_type":         f.mimeType,
		"sha256":            f.sha256,
		"file_size":         strconv.Itoa(len(f.data)),
		"id":                id,
	}, nil
}

// mountPrefix is the path the simulator is mounted under, as by
// http.StripPrefix("/sim", s): what the request URI has before the path the
// simulator sees.
func mountPrefix(r *http.Request) string {
	uri, _, _ := strings.Cut(r.RequestURI, "?")
	prefix, _ := strings.CutSuffix(uri, r.URL.Path)
	if prefix == uri {
		return ""
	}
	return prefix
}

// deleteMedia answers DELETE /{media_id}, with s.mu held.
func (s *Simulator) deleteMedia(r *http.Request) (any, *apiError) {
	id := r.PathValue("node")
	if _, err := s.mediaNode(r, id); err != nil {
		return nil, err
	}
	delete(s.media, id)
	return success, nil
}

// downloadMedia serves the URL mediaInfo hands out.
func (s *Simulator) downloadMedia(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, err := s.mediaNode(r, r.PathValue("id"))
	s.mu.Unlock()
	if err != nil {
		s.writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", f.mimeType)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	_, _ = w.Write(f.data)
}

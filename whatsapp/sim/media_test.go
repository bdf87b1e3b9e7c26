package sim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/whatsapp"
)

// upload posts a file to /{phone_number_id}/media as Meta expects it.
func (b *testBundle) upload(t *testing.T, token, mimeType string, data []byte) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	require.NoError(t, form.WriteField("messaging_product", "whatsapp"))
	require.NoError(t, form.WriteField("type", mimeType))
	header := textproto.MIMEHeader{}
	header.Set("Content-Disposition", `form-data; name="file"; filename="receipt.jpg"`)
	header.Set("Content-Type", mimeType)
	part, err := form.CreatePart(header)
	require.NoError(t, err)
	_, err = part.Write(data)
	require.NoError(t, err)
	require.NoError(t, form.Close())

	req, err := http.NewRequest(http.MethodPost, b.url+"/v21.0/"+testNumber+"/media", &body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", form.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func (b *testBundle) download(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

func TestMediaUploadFetchDelete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	file := []byte("\xff\xd8\xff a receipt \xff\xd9")

	status, out := b.upload(t, testToken, "image/jpeg", file)
	require.Equal(t, http.StatusOK, status, out)
	id := out["id"].(string)
	require.NotEmpty(t, id)

	status, info := b.call(t, http.MethodGet, "/v21.0/"+id, testToken, nil)
	require.Equal(t, http.StatusOK, status, info)
	require.Equal(t, "image/jpeg", info["mime_type"])
	require.Equal(t, id, info["id"])
	require.NotEmpty(t, info["sha256"])
	status, data := b.download(t, info["url"].(string), testToken)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, file, data)
	status, _ = b.download(t, info["url"].(string), "stolen")
	require.Equal(t, http.StatusUnauthorized, status, "the URL needs the token too")

	_, err := b.client.SendMedia(t.Context(), testNumber, testToken, testCustomer, whatsapp.OutgoingMedia{Kind: "image", ID: id}, "")
	require.Error(t, err, "outside the window")
	b.customerWrites(t, testCustomer)
	_, err = b.client.SendMedia(t.Context(), testNumber, testToken, testCustomer, whatsapp.OutgoingMedia{Kind: "image", ID: id}, "")
	require.NoError(t, err)

	status, out = b.call(t, http.MethodDelete, "/v21.0/"+id, testToken, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, true, out["success"])
	status, out = b.call(t, http.MethodGet, "/v21.0/"+id, testToken, nil)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, whatsapp.CodeInvalidParameter, errorCode(t, out))
}

func TestMediaUploadNeedsTokenAndType(t *testing.T) {
	t.Parallel()
	b := setup(t)

	status, out := b.upload(t, "stolen", "image/jpeg", []byte("x"))
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, whatsapp.CodeTokenExpired, errorCode(t, out))

	status, out = b.upload(t, testToken, "", []byte("x"))
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, whatsapp.CodeInvalidParameter, errorCode(t, out))
}

func TestMediaURLUnderAPrefix(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mux := http.NewServeMux()
	mux.Handle("/sim/", http.StripPrefix("/sim", b.sim))
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)
	status, out := b.upload(t, testToken, "image/png", []byte("png"))
	require.Equal(t, http.StatusOK, status, out)

	req, err := http.NewRequest(http.MethodGet, server.URL+"/sim/v21.0/"+out["id"].(string), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var info map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&info))

	require.Equal(t, server.URL+"/sim/_sim/media/"+out["id"].(string)+"/content", info["url"])
	status, data := b.download(t, info["url"].(string), testToken)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []byte("png"), data)
}

package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// SignatureHeader carries the HMAC-SHA256 of the raw body, keyed with the app
// secret, on every webhook POST.
const SignatureHeader = "X-Hub-Signature-256"

const signaturePrefix = "sha256="

// The ways a webhook signature fails. A handler answers all three the same
// way; they differ so logs can tell a misconfiguration from a forgery.
var (
	ErrSignatureMissing   = errors.New("whatsapp: " + SignatureHeader + " is missing")
	ErrSignatureMalformed = errors.New("whatsapp: " + SignatureHeader + " is not sha256=<64 hex digits>")
	ErrSignatureMismatch  = errors.New("whatsapp: " + SignatureHeader + " does not match the body")
	errNoAppSecret        = errors.New("whatsapp: no app secret to verify the signature with")
)

// Sign returns the X-Hub-Signature-256 value Meta would send with body.
func Sign(appSecret, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(appSecret, body))
}

// VerifySignature checks header, the X-Hub-Signature-256 value, against the
// raw body. It must see the bytes as received, before any decoding. An empty
// app secret is refused: anyone could sign with it.
func VerifySignature(appSecret, body []byte, header string) error {
	if len(appSecret) == 0 {
		return errNoAppSecret
	}
	if header == "" {
		return ErrSignatureMissing
	}
	digest, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return ErrSignatureMalformed
	}
	got, err := hex.DecodeString(digest)
	if err != nil || len(got) != sha256.Size {
		return ErrSignatureMalformed
	}
	if !hmac.Equal(got, mac(appSecret, body)) {
		return ErrSignatureMismatch
	}
	return nil
}

func mac(key, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(body)
	return h.Sum(nil)
}

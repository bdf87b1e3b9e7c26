package whatsapp

import (
	"crypto/subtle"
	"net/url"
)

// VerifyChallenge answers Meta's subscription handshake,
// GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...: when the
// token is ours it returns the challenge, to be echoed as plain text with a
// 200. An empty verifyToken never matches.
func VerifyChallenge(query url.Values, verifyToken string) (challenge string, ok bool) {
	if verifyToken == "" || query.Get("hub.mode") != "subscribe" {
		return "", false
	}
	token := query.Get("hub.verify_token")
	if subtle.ConstantTimeCompare([]byte(token), []byte(verifyToken)) != 1 {
		return "", false
	}
	challenge = query.Get("hub.challenge")
	return challenge, challenge != ""
}

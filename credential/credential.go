// Package credential seals provider credentials (access tokens) for storage:
// AES-256-GCM with a key derived from the server's secret, so a copy of the
// database alone does not yield a number's token.
package credential

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
)

// Credentials are what the server needs to act for a number.
type Credentials struct {
	AccessToken string `json:"access_token"`
}

// Box seals and opens credentials.
type Box struct {
	aead cipher.AEAD
}

// NewBox derives a sealing key from secret.
func NewBox(secret []byte) (*Box, error) {
	key := sha256.Sum256(append([]byte("switchboard credentials v1\x00"), secret...))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal returns c encrypted, with its nonce in front. aad binds the sealed
// value to its row (the number's id), so it cannot be copied to another.
func (b *Box) Seal(c Credentials, aad string) ([]byte, error) {
	plain, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return b.aead.Seal(nonce, nonce, plain, []byte(aad)), nil
}

// ErrNone means a number has no credentials.
var ErrNone = errors.New("credential: none stored")

// Open decrypts what Seal made for the same aad.
func (b *Box) Open(sealed []byte, aad string) (Credentials, error) {
	var c Credentials
	if len(sealed) == 0 {
		return c, ErrNone
	}
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return c, errors.New("credential: sealed value too short")
	}
	plain, err := b.aead.Open(nil, sealed[:n], sealed[n:], []byte(aad))
	if err != nil {
		return c, fmt.Errorf("credential: cannot open (wrong secret or moved value): %w", err)
	}
	return c, json.Unmarshal(plain, &c)
}

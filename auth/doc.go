// Package auth signs agents in and recognises callers.
//
// An agent signs in with email and password (argon2id) and receives a
// short-lived access token (an HS256 JWT naming agent, tenant, session and
// roles) and an opaque refresh token. The refresh token is stored as a SHA-256
// hash on its Session and rotates on every use; presenting a rotated-out token
// again revokes the session, since only a thief would hold it. Partners use API
// keys ("sk_…"), stored hashed and bound to one role.
//
// Access tokens are verified without the database, so a disabled agent's token
// lives at most its TTL (15 minutes by default); disabling revokes the
// sessions, so it cannot be refreshed.
package auth

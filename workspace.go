package tessera

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// DefaultWorkspaceID is the workspace every fresh database starts with.
const DefaultWorkspaceID int64 = 1

// Workspace is the tenant: every agent, execution and file belongs to one.
type Workspace struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// APIKey is a bearer token acting for one or more workspaces. Only the
// SHA-256 of the token is stored; the token itself is shown once, at creation.
type APIKey struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Prefix is the first characters of the token, to recognise a key in lists.
	Prefix string `json:"prefix"`
	// Hash is the hex SHA-256 of the token.
	Hash string `json:"-"`
	// WorkspaceIDs lists the workspaces the key may act for; the first one is
	// its default workspace.
	WorkspaceIDs []int64    `json:"workspace_ids"`
	CreatedAt    time.Time  `json:"created_at"`
	LastUsedAt   *time.Time `json:"last_used_at,omitempty"`
}

// DefaultWorkspaceID returns the workspace used when a request names none.
func (k *APIKey) DefaultWorkspaceID() int64 {
	if len(k.WorkspaceIDs) == 0 {
		return 0
	}
	return k.WorkspaceIDs[0]
}

// Allows reports whether the key may act for workspace id.
func (k *APIKey) Allows(id int64) bool {
	for _, w := range k.WorkspaceIDs {
		if w == id {
			return true
		}
	}
	return false
}

// tokenPrefix marks Tessera tokens so that secret scanners can find them.
const tokenPrefix = "tsk_"

// NewAPIToken returns a fresh random token and the hash to store for it.
func NewAPIToken() (token, hash string) {
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	token = tokenPrefix + hex.EncodeToString(b[:])
	return token, HashAPIToken(token)
}

// HashAPIToken returns the stored form of a token. Tokens carry 192 random
// bits, so a fast hash is enough: there is nothing to brute-force.
func HashAPIToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenPrefix returns the part of a token that is safe to display.
func TokenPrefix(token string) string {
	const n = len(tokenPrefix) + 6
	if len(token) <= n {
		return token
	}
	return token[:n]
}

// Principal is who a request acts as, resolved by authentication, with the
// workspace the request works in.
type Principal struct {
	// Key is nil for the administrator token.
	Key   *APIKey
	Admin bool
	// WorkspaceID is the workspace of this request: the x-workspace-id header
	// when given and allowed, else the key's default.
	WorkspaceID int64
}

// Actor names who acts, for the records that keep it (agent versions): the
// API key by name, or the administrator.
func (p *Principal) Actor() string {
	switch {
	case p == nil:
		return ""
	case p.Key != nil:
		return "key:" + p.Key.Name
	case p.Admin:
		return "admin"
	}
	return ""
}

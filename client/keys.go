package client

import (
	"context"
	"net/http"
	"time"
)

// Key is an API key; its token is shown only when it is created.
type Key struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Prefix is the token's first characters, to recognise a key.
	Prefix string `json:"prefix"`
	// WorkspaceIDs are the workspaces the key may act for; the first is
	// its default.
	WorkspaceIDs []int64    `json:"workspace_ids"`
	CreatedAt    time.Time  `json:"created_at"`
	LastUsedAt   *time.Time `json:"last_used_at,omitempty"`
}

// NewKey is a key just created, with its token.
type NewKey struct {
	Key
	// Token is the bearer token: keep it, the server never shows it again.
	Token string `json:"token"`
}

// KeyCreateRequest describes a key to create.
type KeyCreateRequest struct {
	Name string `json:"name"`
	// WorkspaceIDs default to the caller's workspace; a key may only grant
	// its own workspaces (403 otherwise).
	WorkspaceIDs []int64 `json:"workspace_ids,omitempty"`
}

// KeysService manages API keys (/api/v1/api-keys).
type KeysService struct{ c *Client }

// Create creates a key and returns it with its token.
func (s *KeysService) Create(ctx context.Context, req *KeyCreateRequest) (*NewKey, error) {
	var k NewKey
	if err := s.c.do(ctx, &request{method: http.MethodPost, path: "/api/v1/api-keys", body: req}, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// List returns the keys of the current workspace (the administrator's
// token: every key, unless the client names a workspace). Revoked keys
// are not listed.
func (s *KeysService) List(ctx context.Context) ([]*Key, error) {
	var out struct {
		Data []*Key `json:"data"`
	}
	if err := s.c.do(ctx, &request{method: http.MethodGet, path: "/api/v1/api-keys"}, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// Revoke revokes key id; it stops working within seconds. A key may
// always revoke itself. 404 when there is no such key.
func (s *KeysService) Revoke(ctx context.Context, id int64) error {
	return s.c.do(ctx, &request{method: http.MethodDelete, path: pathf("/api/v1/api-keys/%d", id)}, nil)
}

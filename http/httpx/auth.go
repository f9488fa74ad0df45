package httpx

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tessera-run/tessera"
)

// ErrorWriter writes err in a surface's own shape.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

// AuthStore is what authentication reads.
type AuthStore interface {
	APIKeyGetByHash(ctx context.Context, hash string) (*tessera.APIKey, error)
	WorkspaceGetByID(ctx context.Context, id int64) (*tessera.Workspace, error)
	APIKeyTouch(ctx context.Context, id int64, now time.Time) error
}

// Authenticator resolves the bearer token and the x-workspace-id header of a
// request into a Principal.
type Authenticator struct {
	store AuthStore
	admin []byte
	now   func() time.Time

	// Keys are cached briefly so that a hot path does not read the key on
	// every request; a revoked key stops working within cacheTTL.
	mu    sync.Mutex
	cache map[string]cachedKey
}

type cachedKey struct {
	key     *tessera.APIKey
	expires time.Time
}

const cacheTTL = 5 * time.Second

// NewAuthenticator returns an Authenticator. adminToken may be empty.
func NewAuthenticator(store AuthStore, adminToken string, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	a := &Authenticator{store: store, now: now, cache: map[string]cachedKey{}}
	if adminToken != "" {
		a.admin = []byte(adminToken)
	}
	return a
}

// Authenticate returns the request's principal. Errors: EUNAUTHORIZED for a
// missing or unknown token; EINVALID when x-workspace-id is not an integer;
// EFORBIDDEN when the key may not use that workspace.
func (a *Authenticator) Authenticate(r *http.Request) (*tessera.Principal, error) {
	token, ok := bearer(r)
	if !ok {
		return nil, tessera.Errorf(tessera.EUNAUTHORIZED, "Invalid authentication")
	}
	p, err := a.principal(r.Context(), token)
	if err != nil {
		return nil, err
	}
	raw := strings.TrimSpace(r.Header.Get("x-workspace-id"))
	if raw == "" {
		raw = strings.TrimSpace(r.Header.Get("x-tenant-id")) // seed 003's name for it
	}
	if raw == "" {
		return p, nil
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		msg := "The x-workspace-id header must be a positive integer."
		return nil, &tessera.Error{Code: tessera.EINVALID, Message: msg, Fields: map[string][]string{"x-workspace-id": {msg}}}
	}
	if p.Admin {
		if _, err := a.store.WorkspaceGetByID(r.Context(), id); err != nil {
			if tessera.ErrorCode(err) == tessera.ENOTFOUND {
				return nil, tessera.Errorf(tessera.EFORBIDDEN, "Workspace %d does not exist.", id)
			}
			return nil, err
		}
	} else if !p.Key.Allows(id) {
		return nil, tessera.Errorf(tessera.EFORBIDDEN, "This API key may not use workspace %d.", id)
	}
	p.WorkspaceID = id
	return p, nil
}

func (a *Authenticator) principal(ctx context.Context, token string) (*tessera.Principal, error) {
	if a.admin != nil && subtle.ConstantTimeCompare([]byte(token), a.admin) == 1 {
		return &tessera.Principal{Admin: true, WorkspaceID: tessera.DefaultWorkspaceID}, nil
	}
	hash := tessera.HashAPIToken(token)
	key, err := a.lookup(ctx, hash)
	if err != nil {
		if tessera.ErrorCode(err) == tessera.ENOTFOUND {
			return nil, tessera.Errorf(tessera.EUNAUTHORIZED, "Invalid authentication")
		}
		return nil, err
	}
	// The lookup is by hash; comparing the hash again in constant time keeps
	// the check independent of how the store compares strings.
	if subtle.ConstantTimeCompare([]byte(key.Hash), []byte(hash)) != 1 {
		return nil, tessera.Errorf(tessera.EUNAUTHORIZED, "Invalid authentication")
	}
	return &tessera.Principal{Key: key, WorkspaceID: key.DefaultWorkspaceID()}, nil
}

func (a *Authenticator) lookup(ctx context.Context, hash string) (*tessera.APIKey, error) {
	now := a.now()
	a.mu.Lock()
	c, ok := a.cache[hash]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.key, nil
	}
	key, err := a.store.APIKeyGetByHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	// Touch at most once per cache period, off the request's error path.
	_ = a.store.APIKeyTouch(ctx, key.ID, now)
	a.mu.Lock()
	if len(a.cache) > 10_000 {
		clear(a.cache) // bounded: a flood of distinct keys cannot grow it
	}
	a.cache[hash] = cachedKey{key: key, expires: now.Add(cacheTTL)}
	a.mu.Unlock()
	return key, nil
}

// Forget drops cached keys so that a revocation takes effect at once on
// this node.
func (a *Authenticator) Forget() {
	a.mu.Lock()
	clear(a.cache)
	a.mu.Unlock()
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *tessera.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal of an authenticated request.
func PrincipalFrom(ctx context.Context) *tessera.Principal {
	p, _ := ctx.Value(principalKey{}).(*tessera.Principal)
	return p
}

// RequireAuth authenticates every request, answering errors with writeErr.
func RequireAuth(a *Authenticator, writeErr ErrorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := a.Authenticate(r)
			if err != nil {
				writeErr(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

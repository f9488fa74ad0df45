package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notifier carries change notifications between the nodes sharing this
// database over LISTEN/NOTIFY (the engine's Notifier). The channel is named
// after the schema, so deployments in different schemas of one database do
// not hear each other.
type Notifier struct {
	store   *Store
	channel string
	log     *slog.Logger
}

// NewNotifier returns a notifier on the store's pool; it finds the schema
// the pool works in.
func NewNotifier(ctx context.Context, s *Store) (*Notifier, error) {
	var schema string
	if err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return nil, wrap("notifier", err)
	}
	return &Notifier{store: s, channel: "tessera_" + schema, log: s.logger}, nil
}

// Notify sends payload to every listener, this node's included.
func (n *Notifier) Notify(ctx context.Context, payload string) error {
	_, err := n.store.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, n.channel, payload)
	return wrap("notify", err)
}

// Listen holds one connection in LISTEN and calls fn with every payload
// until ctx ends, reconnecting with backoff when the connection drops.
func (n *Notifier) Listen(ctx context.Context, fn func(payload string)) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := n.listenOnce(ctx, fn)
		if ctx.Err() != nil {
			return
		}
		n.log.Warn("notification listener lost its connection; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (n *Notifier) listenOnce(ctx context.Context, fn func(string)) error {
	pooled, err := n.store.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	// A connection that has been in LISTEN must not go back to the pool.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{n.channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	for {
		note, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		fn(note.Payload)
	}
}

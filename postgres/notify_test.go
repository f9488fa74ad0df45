package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/tessera-run/tessera/internal/pgtest"
	"github.com/tessera-run/tessera/postgres"
)

func TestNotifierCrossesConnectionsAndStaysInItsSchema(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(schema string) *postgres.Notifier {
		s, err := postgres.OpenMigrated(ctx, postgres.Config{URL: url, Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		n, err := postgres.NewNotifier(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	a, b := open(pgtest.Schema(t, url)), open(pgtest.Schema(t, url))
	got := make(chan string, 10)
	go a.Listen(ctx, func(p string) { got <- p })
	gotB := make(chan string, 10)
	go b.Listen(ctx, func(p string) { gotB <- p })
	// LISTEN starts asynchronously: notify until the listener hears.
	hear := func(n *postgres.Notifier, ch chan string, payload string) []string {
		t.Helper()
		var heard []string
		deadline := time.After(10 * time.Second)
		for {
			if err := n.Notify(ctx, payload); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-ch:
				heard = append(heard, p)
				if p == payload {
					return heard
				}
			case <-time.After(50 * time.Millisecond):
			case <-deadline:
				t.Fatalf("%q not heard within 10s", payload)
			}
		}
	}
	hear(b, gotB, "b:1")
	hear(a, got, "a:1")
	// Notifications are delivered in commit order: had b's channel been a's,
	// b would hear a:1 before its own later b:2.
	for _, p := range hear(b, gotB, "b:2") {
		if p == "a:1" {
			t.Errorf("a listener in another schema heard %q", p)
		}
	}
}

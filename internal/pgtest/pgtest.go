// Package pgtest gives tests a PostgreSQL to work in: the server named by
// TESSERA_TEST_DATABASE_URL, and a fresh schema of it per test, so that
// tests of several packages share one database without seeing each other.
//
//	url := pgtest.URL(t) // skips the test when the variable is not set
//	store, err := postgres.OpenMigrated(ctx, postgres.Config{URL: url, Schema: pgtest.Schema(t, url)})
//
// It is for tests only.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL is the environment variable naming the test database.
const EnvURL = "TESSERA_TEST_DATABASE_URL"

// URL returns the test database's URL, or skips t when EnvURL is not set.
func URL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		t.Skip(EnvURL + " is not set: skipping PostgreSQL tests (see CONTRIBUTING.md)")
	}
	return url
}

// Schema creates a schema with a random name (t_<hex>) in the database at
// url and returns its name; t.Cleanup drops it with everything in it.
// Register it before whatever uses the schema, so that it is dropped after
// that is closed.
func Schema(t testing.TB, url string) string {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	name := "t_" + hex.EncodeToString(b[:])
	Exec(t, url, `CREATE SCHEMA `+pgx.Identifier{name}.Sanitize())
	t.Cleanup(func() {
		if err := exec(url, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	return name
}

// Exec runs sql on a connection of its own to the database at url, failing
// t on an error. It works in cleanups too: it does not use t.Context,
// which is cancelled by then.
func Exec(t testing.TB, url, sql string, args ...any) {
	t.Helper()
	if err := exec(url, sql, args...); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

func exec(url, sql string, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

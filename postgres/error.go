package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/tessera-run/tessera"
)

// SQLSTATE codes this package acts on.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeSerializationFail   = "40001"
	codeDeadlock            = "40P01"
	codeDuplicateSchema     = "42P06"
	codeBadEncoding         = "22021" // character_not_in_repertoire: NUL or invalid UTF-8 in text
	codeUntranslatable      = "22P05" // untranslatable_character: \u0000 in jsonb
	codeReadOnly            = "25006" // read_only_sql_transaction: a standby after a failover
	codeAdminShutdown       = "57P01"
	codeCrashShutdown       = "57P02"
	codeCannotConnectNow    = "57P03"
	codeTooManyConnections  = "53300"
)

// errNoNow is returned when a caller forgot params.Now: the store never
// reads the clock itself.
var errNoNow = errors.New("params.Now is zero")

// errNoWorkspace is returned by a workspace's list called without one.
var errNoWorkspace = errors.New("params.WorkspaceID is zero")

// wrap translates err at the package boundary and adds the operation.
// Domain errors pass as they are, their messages being meant for users.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := tessera.AsError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// Every expected "no row" is translated where it happens; one that
		// is not is a row that went away between two statements.
		return fmt.Errorf("postgres: %s: %w: %w", op, tessera.Errorf(tessera.ENOTFOUND, "not found"), err)
	case unavailable(err):
		// Both are kept: the kind and its safe message for the surfaces,
		// the cause in the text for logs.
		return fmt.Errorf("postgres: %s: %w: %w", op,
			tessera.Errorf(tessera.EUNAVAILABLE, "The database is unavailable; try again later."), err)
	}
	if c := pgCode(err); c == codeBadEncoding || c == codeUntranslatable {
		return fmt.Errorf("postgres: %s: %w: %w", op, tessera.Errorf(tessera.EINVALID,
			"The text contains a NUL character or invalid UTF-8, which the database cannot store."), err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// pgCode returns the SQLSTATE of a server error, or "".
func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func isUnique(err error) bool { return pgCode(err) == codeUniqueViolation }

func isForeignKey(err error) bool { return pgCode(err) == codeForeignKeyViolation }

// retryable reports an error after which the server rolled the transaction
// back and running it again may succeed.
func retryable(err error) bool {
	c := pgCode(err)
	return c == codeSerializationFail || c == codeDeadlock
}

// unavailable reports a failure to reach the database, as opposed to a
// failure of the statement: a refused or lost connection, a server shutting
// down or full, a closed pool. A cancelled or expired context is the
// caller's, not the database's, and is not one.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch c := pgCode(err); {
	case strings.HasPrefix(c, "08"): // connection exception
		return true
	case c == codeAdminShutdown, c == codeCrashShutdown, c == codeCannotConnectNow,
		c == codeTooManyConnections, c == codeReadOnly:
		return true
	case c != "":
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, puddle.ErrClosedPool) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// noWorkspace translates the foreign-key failure of a row naming a missing
// workspace.
func noWorkspace(err error, workspaceID int64) error {
	if isForeignKey(err) {
		return tessera.Errorf(tessera.ENOTFOUND, "workspace %d does not exist", workspaceID)
	}
	return err
}

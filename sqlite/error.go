package sqlite

import (
	"errors"
	"fmt"

	"github.com/tessera-run/tessera"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// errNoNow is returned when a caller forgot params.Now: the store never
// reads the clock itself.
var errNoNow = errors.New("params.Now is zero")

// errNoWorkspace is returned by a workspace's list called without one.
var errNoWorkspace = errors.New("params.WorkspaceID is zero")

// wrap adds the operation to an unexpected error; domain errors pass as
// they are, their messages being meant for users.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := tessera.AsError(err); ok {
		return err
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

func resultCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// isUnique reports a taken UNIQUE or PRIMARY KEY.
func isUnique(err error) bool {
	c := resultCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKey(err error) bool {
	return resultCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// noWorkspace translates the foreign-key failure of a row naming a missing
// workspace.
func noWorkspace(err error, workspaceID int64) error {
	if isForeignKey(err) {
		return tessera.Errorf(tessera.ENOTFOUND, "workspace %d does not exist", workspaceID)
	}
	return err
}

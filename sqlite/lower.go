package sqlite

import (
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"

	"modernc.org/sqlite" // also registers the "sqlite" driver
)

// lowerFunc is a Unicode-aware lower(): SQLite's own lower() and LIKE fold
// ASCII only, and PostgreSQL folds every letter.
const lowerFunc = "tessera_lower"

var registerOnce = sync.OnceValue(func() error {
	err := sqlite.RegisterDeterministicScalarFunction(lowerFunc, 1,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return strings.ToLower(v), nil
			case []byte:
				return strings.ToLower(string(v)), nil
			default:
				return v, nil
			}
		})
	if err != nil {
		return fmt.Errorf("sqlite: register %s: %w", lowerFunc, err)
	}
	return nil
})

// registerFunctions adds the functions above to every connection opened
// afterwards; it runs once per process.
func registerFunctions() error { return registerOnce() }

// contains returns the condition "col contains q, ignoring case" and its
// argument. % and _ in q are escaped, so they match themselves.
func contains(col, q string) (string, any) {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return lowerFunc + "(" + col + `) LIKE ? ESCAPE '\'`, "%" + r.Replace(strings.ToLower(q)) + "%"
}

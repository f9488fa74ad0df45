package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"strings"
)

// where collects the conditions and arguments of a list query.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// page returns the ORDER BY and LIMIT clause of a list and its arguments.
// A limit of zero or less means no limit.
func page(limit, offset int, desc bool) (string, []any) {
	order := " ORDER BY id"
	if desc {
		order += " DESC"
	}
	if limit <= 0 {
		limit = -1 // SQLite's "no limit"
	}
	return order + " LIMIT ? OFFSET ?", []any{limit, max(offset, 0)}
}

// in returns the condition "col IN (vals)" and its arguments. SQLite
// accepts an empty list, which matches nothing.
func in[T any](col string, vals []T) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return col + " IN (" + placeholders(len(vals)) + ")", args
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// listQuery is one page of a table.
type listQuery struct {
	table, columns string
	where          where
	limit, offset  int
	desc           bool
}

// listPage returns the page of q and the total count of matching rows,
// both from one snapshot.
func listPage[T any](ctx context.Context, s *Store, q listQuery, scan func(scanner) (T, error)) ([]T, int, error) {
	var list []T
	var total int
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+q.table+q.where.String(), q.where.args...).Scan(&total)
		if err != nil {
			return err
		}
		clause, args := page(q.limit, q.offset, q.desc)
		rows, err := tx.QueryContext(ctx, `SELECT `+q.columns+` FROM `+q.table+q.where.String()+clause,
			slices.Concat(q.where.args, args)...)
		if err != nil {
			return err
		}
		list, err = collect(rows, scan)
		return err
	})
	return list, total, err
}

// collect scans every row and closes rows. The list is empty, not nil, when
// nothing matched.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	list := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

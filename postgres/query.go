package postgres

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// where collects the conditions and arguments of a list query, numbering
// the placeholders as arguments are added.
type where struct {
	conds []string
	args  []any
}

// arg adds an argument and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// containsArg returns the ILIKE pattern "contains q": %, _ and the escape
// character \ in q are escaped, so they match themselves.
func containsArg(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// ilike is the condition "col contains the pattern at placeholder p,
// ignoring case". E'\\' is one backslash whatever
// standard_conforming_strings says.
func ilike(col, p string) string { return col + ` ILIKE ` + p + ` ESCAPE E'\\'` }

// listQuery is one page of a table.
type listQuery struct {
	table, columns string
	where          where
	limit, offset  int
	desc           bool
}

// listPage returns the page of q and the total count of matching rows,
// both from one snapshot. A limit of zero or less means no limit.
func listPage[T any](ctx context.Context, s *Store, q listQuery, scan func(pgx.Row) (T, error)) ([]T, int, error) {
	countArgs := slices.Clone(q.where.args)
	page := q.where
	page.args = slices.Clone(q.where.args)
	order := " ORDER BY id"
	if q.desc {
		order += " DESC"
	}
	var limit any // NULL: no limit
	if q.limit > 0 {
		limit = q.limit
	}
	clause := order + " LIMIT " + page.arg(limit) + " OFFSET " + page.arg(max(q.offset, 0))

	var list []T
	var total int
	err := s.inReadTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+q.table+q.where.String(), countArgs...).Scan(&total)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+q.columns+` FROM `+q.table+q.where.String()+clause, page.args...)
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
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
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

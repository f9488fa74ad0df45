package tess

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tessera-run/tessera"
)

// page is the page and size a list request asked for.
type page struct {
	Page, PerPage int
}

const maxPerPage = 100

// parsePage reads page and per_page (default 15). A per_page above 100 is
// capped rather than refused: Pipedream asks for up to 1000. Values that are
// not positive integers are EINVALID.
func parsePage(r *http.Request) (page, error) {
	p := page{Page: 1, PerPage: 15}
	var v tessera.ValidationErrors
	if s := r.URL.Query().Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			v.Add("page", "The page must be an integer of at least 1.")
		}
		p.Page = n
	}
	if s := r.URL.Query().Get("per_page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			v.Add("per_page", "The per_page must be a positive integer.")
		}
		p.PerPage = min(n, maxPerPage)
	}
	return p, v.Err()
}

func (p page) offset() int { return (p.Page - 1) * p.PerPage }

// paginator is Laravel's length-aware paginator, which Tess clients read
// (data, last_page, current_page, per_page, total).
type paginator struct {
	CurrentPage  int             `json:"current_page"`
	Data         any             `json:"data"`
	FirstPageURL string          `json:"first_page_url"`
	From         *int            `json:"from"`
	LastPage     int             `json:"last_page"`
	LastPageURL  string          `json:"last_page_url"`
	Links        []paginatorLink `json:"links"`
	NextPageURL  *string         `json:"next_page_url"`
	Path         string          `json:"path"`
	PerPage      int             `json:"per_page"`
	PrevPageURL  *string         `json:"prev_page_url"`
	To           *int            `json:"to"`
	Total        int             `json:"total"`
}

type paginatorLink struct {
	URL    *string `json:"url"`
	Label  string  `json:"label"`
	Active bool    `json:"active"`
}

func newPaginator(r *http.Request, p page, data any, count, total int) paginator {
	last := max(1, (total+p.PerPage-1)/p.PerPage)
	path := baseURL(r) + r.URL.Path
	pageURL := func(n int) string {
		q := cloneQuery(r.URL.Query())
		q.Set("page", strconv.Itoa(n))
		return path + "?" + q.Encode()
	}
	pg := paginator{
		CurrentPage: p.Page, Data: data, FirstPageURL: pageURL(1), LastPage: last,
		LastPageURL: pageURL(last), Path: path, PerPage: p.PerPage, Total: total,
	}
	if count > 0 {
		from, to := p.offset()+1, p.offset()+count
		pg.From, pg.To = &from, &to
	}
	if p.Page > 1 {
		u := pageURL(p.Page - 1)
		pg.PrevPageURL = &u
	}
	if p.Page < last {
		u := pageURL(p.Page + 1)
		pg.NextPageURL = &u
	}
	pg.Links = append(pg.Links, paginatorLink{URL: pg.PrevPageURL, Label: "pagination.previous"})
	for n := 1; n <= last && n <= 50; n++ {
		u := pageURL(n)
		pg.Links = append(pg.Links, paginatorLink{URL: &u, Label: strconv.Itoa(n), Active: n == p.Page})
	}
	pg.Links = append(pg.Links, paginatorLink{URL: pg.NextPageURL, Label: "pagination.next"})
	return pg
}

func cloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// baseURL is the scheme and host the client used, honouring a proxy's
// X-Forwarded-Proto.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return fmt.Sprintf("%s://%s", scheme, r.Host)
}

package builtin

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// skipped elements carry no reading matter (or, for nav, only the site's
// menus, which cost tokens on every page).
var skipped = map[atom.Atom]bool{
	atom.Head: true, atom.Script: true, atom.Style: true, atom.Nav: true, atom.Noscript: true,
	atom.Template: true, atom.Svg: true, atom.Iframe: true, atom.Object: true, atom.Canvas: true,
}

// blockBreaks is how many newlines separate a block element from its
// neighbours: 2 for paragraph-like blocks, 1 for lines.
var blockBreaks = map[atom.Atom]int{
	atom.P: 2, atom.Div: 1, atom.Section: 2, atom.Article: 2, atom.Main: 2, atom.Header: 2, atom.Footer: 2,
	atom.Aside: 2, atom.Blockquote: 2, atom.Pre: 2, atom.Figure: 2, atom.Figcaption: 1, atom.Table: 2,
	atom.Ul: 2, atom.Ol: 2, atom.Dl: 2, atom.Dt: 1, atom.Dd: 1, atom.Tr: 1, atom.Form: 2, atom.Hr: 2,
	atom.Address: 2, atom.Details: 2, atom.Summary: 1,
}

var headingLevels = map[atom.Atom]int{atom.H1: 1, atom.H2: 2, atom.H3: 3, atom.H4: 4, atom.H5: 5, atom.H6: 6}

// htmlToText renders an HTML document as readable plain text: headings as
// "# …", list items as "- …", links as "text (url)" resolved against base,
// whitespace collapsed. It returns the text and the document's title.
//
// The recursive walk is safe because html.Parse refuses documents nested
// deeper than 512 elements; that refusal is the only error.
func htmlToText(doc string, base *url.URL) (text, title string, err error) {
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		return "", "", err
	}
	w := &textWriter{base: base}
	w.node(root)
	return strings.TrimSpace(w.b.String()), collapse(findTitle(root)), nil
}

type textWriter struct {
	b        strings.Builder
	base     *url.URL
	breaks   int  // newlines owed before the next text
	space    bool // a space is owed before the next text
	inAnchor bool // links inside links are not expanded
	pre      int  // depth of <pre>, whose whitespace is kept
}

func (w *textWriter) node(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		w.text(n.Data)
	case html.ElementNode:
		w.element(n)
	case html.DocumentNode:
		w.children(n)
	}
}

func (w *textWriter) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.node(c)
	}
}

func (w *textWriter) element(n *html.Node) {
	switch a := n.DataAtom; {
	case skipped[a]:
	case a == atom.Br:
		w.block(1)
	case headingLevels[a] > 0:
		w.block(2)
		w.word(strings.Repeat("#", headingLevels[a]) + " ")
		w.children(n)
		w.block(2)
	case a == atom.Li:
		w.block(1)
		w.word("- ")
		w.children(n)
		w.block(1)
	case a == atom.A:
		w.anchor(n)
	case a == atom.Pre:
		w.block(2)
		w.pre++
		w.children(n)
		w.pre--
		w.block(2)
	case a == atom.Td || a == atom.Th:
		w.space = true
		w.children(n)
		w.space = true
	case blockBreaks[a] > 0:
		w.block(blockBreaks[a])
		w.children(n)
		w.block(blockBreaks[a])
	default:
		w.children(n)
	}
}

// anchor writes the link text followed by its URL, unless the URL adds
// nothing (same-page fragments, javascript:, or text equal to the URL).
func (w *textWriter) anchor(n *html.Node) {
	href := w.link(attr(n, "href"))
	if href == "" || w.inAnchor {
		w.children(n)
		return
	}
	w.inAnchor = true
	start := w.b.Len()
	w.children(n)
	w.inAnchor = false
	written := strings.TrimSpace(w.b.String()[start:])
	if written != "" && written != href {
		owed := w.space // a space after the link text belongs after the URL
		w.word(" (" + href + ")")
		w.space = owed
	}
}

// link resolves href against the page URL; it returns "" for links that
// do not lead to another document.
func (w *textWriter) link(href string) string {
	href = strings.TrimSpace(href)
	if href == "" || strings.HasPrefix(href, "#") {
		return ""
	}
	u, err := url.Parse(href)
	if err != nil {
		return ""
	}
	if w.base != nil {
		u = w.base.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "mailto" {
		return ""
	}
	return u.String()
}

// text writes a text node with its whitespace collapsed; leading and
// trailing whitespace becomes one owed space.
func (w *textWriter) text(s string) {
	if w.pre > 0 {
		w.word(s)
		return
	}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		w.space = w.space || s != ""
		return
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	w.space = w.space || unicode.IsSpace(first)
	w.word(strings.Join(fields, " "))
	w.space = unicode.IsSpace(last)
}

// word writes s after the breaks or the space owed.
func (w *textWriter) word(s string) {
	written := w.b.String() // no copy: Builder.String shares its buffer
	switch {
	case written == "":
	case w.breaks > 0:
		w.b.WriteString(strings.Repeat("\n", w.breaks))
	case w.space && !strings.HasPrefix(s, " ") && !strings.HasSuffix(written, " "):
		w.b.WriteByte(' ')
	}
	w.breaks, w.space = 0, false
	w.b.WriteString(s)
}

// block owes at least n newlines before the next text.
func (w *textWriter) block(n int) {
	w.breaks = max(w.breaks, n)
	w.space = false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func findTitle(n *html.Node) string {
	if n.Type == html.ElementNode && n.DataAtom == atom.Title {
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				b.WriteString(c.Data)
			}
		}
		return b.String()
	}
	if n.Type == html.ElementNode && n.DataAtom == atom.Body {
		return "" // a <title> in the body is not the document's title
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if t := findTitle(c); t != "" {
			return t
		}
	}
	return ""
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

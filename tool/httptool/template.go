package httptool

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// part is one piece of a template: literal text, an argument or a secret.
type part struct {
	text   string // the literal text, when arg and secret are empty
	arg    string
	secret string
	// inQuery reports, in a URL template, that the part comes after the
	// first '?'.
	inQuery bool
}

func (p part) literal() bool { return p.arg == "" && p.secret == "" }

type template []part

var (
	placeholderRE = regexp.MustCompile(`\{\{([^{}]*)\}\}`)
	argNameRE     = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// secretNameRE matches what tessera.SecretRefs accepts.
	secretNameRE = regexp.MustCompile(`^secret\.([A-Za-z0-9_.-]+)$`)
)

func parseTemplate(s string) (template, error) {
	var t template
	last := 0
	for _, m := range placeholderRE.FindAllStringSubmatchIndex(s, -1) {
		if m[0] > last {
			t = append(t, part{text: s[last:m[0]]})
		}
		p, err := placeholder(s[m[2]:m[3]])
		if err != nil {
			return nil, err
		}
		t = append(t, p)
		last = m[1]
	}
	if last < len(s) {
		t = append(t, part{text: s[last:]})
	}
	return t, nil
}

func placeholder(inner string) (part, error) {
	inner = strings.TrimSpace(inner)
	if m := secretNameRE.FindStringSubmatch(inner); m != nil {
		return part{secret: m[1]}, nil
	}
	if argNameRE.MatchString(inner) {
		return part{arg: inner}, nil
	}
	return part{}, fmt.Errorf("the placeholder {{%s}} is neither {{argument}} nor {{secret.NAME}}", inner)
}

// render fills t with the text value gives for each placeholder.
func (t template) render(value func(part) (string, error)) (string, error) {
	var b strings.Builder
	for _, p := range t {
		if p.literal() {
			b.WriteString(p.text)
			continue
		}
		v, err := value(p)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// args returns the argument names t uses, in order, once each.
func (t template) args() []string {
	var names []string
	for _, p := range t {
		if p.arg != "" && !slices.Contains(names, p.arg) {
			names = append(names, p.arg)
		}
	}
	return names
}

// parseURLTemplate parses a URL template, marks the placeholders of the
// query, and checks that scheme and host are fixed and that secrets stay
// out of the path.
func parseURLTemplate(raw string) (template, error) {
	t, err := parseTemplate(raw)
	if err != nil {
		return nil, err
	}
	query := false
	for i := range t {
		t[i].inQuery = query
		query = query || t[i].literal() && strings.Contains(t[i].text, "?")
		if t[i].secret != "" && !t[i].inQuery {
			return nil, fmt.Errorf("the url may use {{secret.%s}} in its query only", t[i].secret)
		}
	}
	if !hostIsFixed(t) {
		return nil, errors.New("the scheme and host of the url may not use placeholders")
	}
	u, err := url.Parse(placeholderRE.ReplaceAllString(raw, "x"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("the url must be an absolute http or https URL")
	}
	return t, nil
}

// hostIsFixed reports whether the template's first literal holds the
// whole scheme and authority.
func hostIsFixed(t template) bool {
	if len(t) == 0 || !t[0].literal() {
		return false
	}
	if len(t) == 1 {
		return true
	}
	_, rest, ok := strings.Cut(t[0].text, "://")
	return ok && strings.ContainsAny(rest, "/?#")
}

// parseBodyTemplate parses a body template; a JSON one must be valid JSON
// with each placeholder standing for a whole value.
func parseBodyTemplate(raw string, isJSON bool) (template, error) {
	if raw == "" {
		return nil, nil
	}
	t, err := parseTemplate(raw)
	if err != nil {
		return nil, err
	}
	for _, p := range t {
		if p.secret != "" {
			return nil, fmt.Errorf("the body may not use {{secret.%s}}: put credentials in headers", p.secret)
		}
	}
	if isJSON {
		return t, checkJSONTemplate(t)
	}
	return t, nil
}

func checkJSONTemplate(t template) error {
	inString, escaped := false, false
	for _, p := range t {
		if !p.literal() {
			if inString {
				return fmt.Errorf("the body puts {{%s}} inside a JSON string; a placeholder stands for a whole JSON value: write {\"key\": {{%[1]s}}}, not {\"key\": \"… {{%[1]s}}\"}", p.arg)
			}
			continue
		}
		for _, c := range []byte(p.text) {
			switch {
			case escaped:
				escaped = false
			case inString && c == '\\':
				escaped = true
			case c == '"':
				inString = !inString
			}
		}
	}
	body, _ := t.render(func(part) (string, error) { return "null", nil })
	if !json.Valid([]byte(body)) {
		return errors.New("the body is not valid JSON (with each placeholder standing for a JSON value); set a Content-Type header to send another format")
	}
	return nil
}

// jsonContentType reports whether the body is sent as JSON: the tool sets
// no Content-Type, or a JSON one.
func jsonContentType(headers map[string]string) bool {
	for k, v := range headers {
		if strings.EqualFold(k, "Content-Type") {
			mt, _, err := mime.ParseMediaType(v)
			return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
		}
	}
	return true
}

func parseHeaders(headers map[string]string) ([]header, error) {
	out := make([]header, 0, len(headers))
	for name, value := range headers {
		t, err := parseTemplate(value)
		if err != nil {
			return nil, fmt.Errorf("header %s: %v", name, err)
		}
		out = append(out, header{name: name, value: t})
	}
	slices.SortFunc(out, func(a, b header) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// secretHeaders are the names of the headers that carry a secret.
func (t *httpTool) secretHeaders() []string {
	var names []string
	for _, h := range t.headers {
		if slices.ContainsFunc(h.value, func(p part) bool { return p.secret != "" }) {
			names = append(names, h.name)
		}
	}
	return names
}

// templates are all of the tool's templates.
func (t *httpTool) templates() []template {
	all := []template{t.url, t.body}
	for _, h := range t.headers {
		all = append(all, h.value)
	}
	return all
}

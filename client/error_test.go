package client

import (
	"net/http"
	"reflect"
	"testing"
)

// The server's surfaces each have their error shape; all become an Error.
func TestParseErrorReadsEveryShape(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		status  int
		header  http.Header
		body    string
		message string
		fields  map[string][]string
		retry   int
	}{
		{"native problem", 422, nil,
			`{"type":"about:blank","title":"Unprocessable Entity","status":422,"detail":"The title field is required.",
			  "errors":[{"location":"body.title","message":"The title field is required."},{"location":"body.questions.0.name","message":"Bad."}]}`,
			"The title field is required.", map[string][]string{"title": {"The title field is required."}, "questions.0.name": {"Bad."}}, 0},
		{"native 401", 401, nil, `{"type":"about:blank","title":"Unauthorized","status":401,"detail":"Invalid authentication"}`,
			"Invalid authentication", nil, 0},
		{"Tess 422", 422, nil, `{"error":"The topic field is required.","message":"The topic field is required.",
			"messages":{"topic":["The topic field is required."]},"errors":{"topic":["The topic field is required."]}}`,
			"The topic field is required.", map[string][]string{"topic": {"The topic field is required."}}, 0},
		{"Tess 429", 429, http.Header{"Retry-After": {"7"}}, `{"error":"Rate limit exceeded","retry_after":7}`,
			"Rate limit exceeded", nil, 7},
		{"FastAPI 422", 422, nil, `{"detail":[{"loc":["query","status"],"msg":"Input should be 'pending'","type":"value_error"},
			{"loc":["body","config","0","name"],"msg":"Required","type":"value_error"}]}`,
			"Input should be 'pending'", map[string][]string{"query.status": {"Input should be 'pending'"}, "config.0.name": {"Required"}}, 0},
		{"FastAPI 404", 404, nil, `{"detail":"Execution not found"}`, "Execution not found", nil, 0},
		{"OpenAI", 502, nil, `{"error":{"message":"upstream failed","type":"upstream_error","param":null,"code":null}}`,
			"upstream failed", nil, 0},
		{"plain text", 502, nil, "bad gateway\n", "bad gateway", nil, 0},
		{"HTML", 502, nil, "<html><body>Bad Gateway</body></html>", "Bad Gateway", nil, 0},
		{"empty", 500, nil, "", "Internal Server Error", nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := tc.header
			if h == nil {
				h = http.Header{}
			}
			e := parseError(&http.Response{StatusCode: tc.status, Header: h}, []byte(tc.body))
			if e.Status != tc.status || e.Message != tc.message || !reflect.DeepEqual(e.Fields, tc.fields) || e.RetryAfter != tc.retry {
				t.Errorf("parseError = %+v, want message %q fields %v retry %d", e, tc.message, tc.fields, tc.retry)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{Status: 404, Message: "Agent not found"}, "404 Not Found: Agent not found"},
		{Error{Status: 422, Message: "Bad title.", Fields: map[string][]string{"title": {"Bad title."}}}, "422 Unprocessable Entity: Bad title."},
		{Error{Status: 422, Message: "Bad title.", Fields: map[string][]string{"type": {"Bad type."}, "title": {"Bad title."}}},
			"422 Unprocessable Entity: Bad title.; title: Bad title.; type: Bad type."},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

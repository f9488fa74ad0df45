package server_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzTessExecute posts arbitrary bodies, query strings and
// Idempotency-Key headers to Tess's execute endpoint, under each of its
// mounts, for a bare chat agent, a chat agent with a required question and
// a text agent with a question of every type. The server never answers
// 5xx, always within the wait bound; a refusal is Tess's {"error": …}; an
// answer names the agent and one response with an id and a Tess status.
// The seed corpus is in testdata/fuzz/FuzzTessExecute.
func FuzzTessExecute(f *testing.F) {
	s := newStack(f)
	for _, seed := range []struct {
		agent byte
		query string
		key   string
		body  string
	}{
		{0, "", "", `{"messages":[{"role":"user","content":"hi"}],"waitExecution":true}`},
		{0, "wait_execution=1", "k1", `{"messages":"hi","temperature":"0.3","stream":false}`},
		{0, "", "", `{"messages":[{"role":"developer","content":"d"},{"role":"user","content":[{"type":"text","text":"a"}]}],"stream":true}`},
		{1, "waitExecution=true", "", `{"topic":"x","answers":{"topic":"y"}}`},
		{1, "", "", `{"answers":{"topic":""},"messages":[]}`},
		{2, "waitExecution=yes", "", `{"topic":"t","n":"4","flag":"on","pick":"a","many":"x,y","list":"[1]","obj":{"a":1},"doc":"f"}`},
		{2, "", "", `{"n":"x","flag":2,"pick":"c","many":["z"],"obj":"[]","stream":true}`},
		{0, "", "", `{"root_id":1,"messages":"again","multitask_strategy":"interrupt","waitExecution":1}`},
		{0, "", "", `{"root_id":"999999","file_ids":[1],"timeout":1e10,"tools":"calculator","model":"nope/x"}`},
		{3, "", "", `{"messages":"hi","timeout":0.5,"multitask_strategy":"reject","root_id":1}`},
		{0, "", strings.Repeat("k", 256), `{}`}, {0, "", "", `[]`}, {0, "", "", `{"a":1}}`},
	} {
		f.Add(seed.agent, seed.query, seed.key, []byte(seed.body))
	}
	agents := []int64{s.Chat.ID, s.Topical.ID, s.Writer.ID}
	f.Fuzz(func(t *testing.T, sel byte, query, key string, body []byte) {
		id := agents[int(sel)%len(agents)]
		prefix := []string{"", "/api"}[int(sel>>2)%2]
		noun := []string{"/agents/", "/templates/"}[int(sel>>3)%2]
		path := prefix + noun + strconv.FormatInt(id, 10) + "/execute"
		header := map[string]string{}
		if key != "" {
			header["Idempotency-Key"] = key
		}
		rep := s.do(t, http.MethodPost, path, query, header, body)
		s.check(t, "POST "+path+"?"+query, rep, tessShape)
		if rep.status != http.StatusOK || rep.header.Get("Content-Type") == "text/event-stream" {
			return
		}
		var got struct {
			TemplateID string `json:"template_id"`
			Responses  []struct {
				ID         int64  `json:"id"`
				Status     string `json:"status"`
				TemplateID int64  `json:"template_id"`
			} `json:"responses"`
		}
		if err := json.Unmarshal(rep.body, &got); err != nil || got.TemplateID != strconv.FormatInt(id, 10) || len(got.Responses) != 1 {
			t.Fatalf("POST %s: %s (%v)", path, clip(rep.body), err)
		}
		r := got.Responses[0]
		if r.ID <= 0 || r.TemplateID != id || !slices.Contains([]string{"starting", "running", "succeeded", "failed"}, r.Status) {
			t.Fatalf("POST %s: response %+v", path, r)
		}
	})
}

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tessera-run/tessera/llm/llmtest"
)

// ordersAPI is an HTTP API an agent declares a tool for; it wants the
// instance's token.
func ordersAPI(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret-token" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/orders/")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "status": "shipped", "carrier": "acme", "verbose": r.URL.Query().Get("verbose")})
	}))
	t.Cleanup(srv.Close)
	return srv
}

type shipArgs struct {
	Carrier string `json:"carrier" jsonschema:"the carrier's name"`
	Order   string `json:"order" jsonschema:"the order id"`
}

// shippingMCP is an MCP server over streamable HTTP with two tools, one of
// which the agent's allow-list leaves out; it wants the instance's key.
func shippingMCP(t *testing.T) (*httptest.Server, *sync.Map) {
	t.Helper()
	server := mcp.NewServer(&mcp.Implementation{Name: "shipping", Version: "1.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "eta", Description: "Estimated delivery of an order shipped by a carrier"},
		func(_ context.Context, _ *mcp.CallToolRequest, in shipArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "order " + in.Order + " via " + in.Carrier + " arrives 2026-12-03"}}}, nil, nil
		})
	mcp.AddTool(server, &mcp.Tool{Name: "cancel_shipment", Description: "Cancel a shipment"},
		func(context.Context, *mcp.CallToolRequest, shipArgs) (*mcp.CallToolResult, any, error) {
			t.Error("cancel_shipment was called although the allow-list leaves it out")
			return nil, nil, nil
		})
	handler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)
	var keys sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys.Store(r.Header.Get("X-Ship-Key"), true)
		if r.Header.Get("X-Ship-Key") != "k3y-ship" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &keys
}

// declaredToolTask scripts a model that looks the order up over HTTP, asks
// the MCP server when it arrives, then answers.
func declaredToolTask() []llmtest.Reply {
	return []llmtest.Reply{
		{Content: "First the order.", ToolCalls: []llmtest.ToolCall{{ID: "h1", Name: "lookup_order", Arguments: `{"id":"A-17"}`}}, PromptTokens: 50, CompletionTokens: 8},
		{Content: "Now the delivery date.", ToolCalls: []llmtest.ToolCall{{ID: "m1", Name: "ship__eta", Arguments: `{"order":"A-17","carrier":"acme"}`}}, PromptTokens: 80, CompletionTokens: 9},
		{Content: "Order A-17 shipped with acme and arrives on 2026-12-03.", PromptTokens: 120, CompletionTokens: 12},
	}
}

func TestInstanceRunsDeclaredHTTPAndMCPTools(t *testing.T) {
	t.Parallel()
	orders := ordersAPI(t)
	ship, shipKeys := shippingMCP(t)
	s := setup(t, opts{
		Handler: llmtest.Script(slices.Concat(declaredToolTask(), declaredToolTask())...),
		Config:  "models:\n  - {name: " + defaultModel + ", provider: openai, input_price: 1, output_price: 2}\n",
		// The test servers listen on loopback, which the SSRF guard refuses
		// unless allowed.
		Env: map[string]string{"TESSERA_TOOLS_HTTP_ALLOW": "127.0.0.1"},
	})
	agentID := s.createAgent(t, map[string]any{
		"title": "Order desk", "type": "chat", "instructions": "Answer questions about orders with your tools.",
		"http_tools": []map[string]any{{
			"name": "lookup_order", "description": "Look an order up by its id",
			"parameters": map[string]any{"type": "object", "required": []string{"id"}, "properties": map[string]any{"id": map[string]any{"type": "string"}}},
			"method":     "GET", "url": orders.URL + "/orders/{{id}}?verbose=no",
			"headers": map[string]string{"Authorization": "Bearer {{secret.orders_token}}"},
		}},
		"mcp_servers": []map[string]any{{
			"name": "ship", "url": ship.URL, "headers": map[string]string{"X-Ship-Key": "{{secret.ship_key}}"},
			"allowed_tools": []string{"eta"},
		}},
	}, nil)
	in := s.must(t, http.StatusCreated, "POST", "/api/v1/ai/agents/instances", map[string]any{
		"agent_id": agentID, "name": "desk", "config": map[string]any{
			"credentials": map[string]string{"orders_token": "s3cret-token", "ship_key": "k3y-ship"},
		},
	}, nil)
	inst := intOf(t, in["id"])

	check := func(t *testing.T, got map[string]any) {
		t.Helper()
		if got["status"] != "completed" || got["success"] != true {
			t.Fatalf("execution = %v", got)
		}
		its := got["iterations"].([]any)
		if len(its) != 3 || intOf(t, got["iteration_count"]) != 3 {
			t.Fatalf("iterations = %v", its)
		}
		httpStep, mcpStep, final := its[0].(map[string]any), its[1].(map[string]any), its[2].(map[string]any)
		if httpStep["action"] != "lookup_order" || httpStep["thought"] != "First the order." ||
			httpStep["action_input"].(map[string]any)["id"] != "A-17" ||
			!strings.Contains(httpStep["observation"].(string), "HTTP 200") || !strings.Contains(httpStep["observation"].(string), `"status":"shipped"`) {
			t.Errorf("HTTP tool iteration = %v", httpStep)
		}
		if mcpStep["action"] != "ship__eta" || mcpStep["thought"] != "Now the delivery date." ||
			mcpStep["observation"] != "order A-17 via acme arrives 2026-12-03" {
			t.Errorf("MCP tool iteration = %v", mcpStep)
		}
		if final["action"] != "final_answer" || !strings.Contains(final["observation"].(string), "2026-12-03") {
			t.Errorf("final iteration = %v", final)
		}
		if tools := got["tools_used"].([]any); !slices.Equal(tools, []any{"lookup_order", "ship__eta"}) {
			t.Errorf("tools_used = %v", tools)
		}
		if intOf(t, got["total_tokens"]) != 279 {
			t.Errorf("total_tokens = %v, want 279", got["total_tokens"])
		}
		wantCost := (250*1.0 + 29*2.0) / 1e6
		if c := got["total_cost"].(float64); c < wantCost*0.999 || c > wantCost*1.001 {
			t.Errorf("total_cost = %v, want %v", c, wantCost)
		}
	}

	// Synchronously.
	sync := s.must(t, http.StatusOK, "POST", path("/api/v1/ai/agents/instances/%d/execute", inst), map[string]any{"message": "Where is A-17?"}, nil)
	check(t, sync)

	// What the model was offered: the declared HTTP tool and the allowed
	// MCP tool, namespaced by its server, with their schemas.
	offered := s.Fake.Requests()[0].Tools
	names := make([]string, len(offered))
	for i, tl := range offered {
		names[i] = tl.Name
		if tl.Name == "ship__eta" && !strings.Contains(string(tl.Parameters), `"carrier"`) {
			t.Errorf("ship__eta parameters = %s", tl.Parameters)
		}
	}
	if !slices.Equal(names, []string{"lookup_order", "ship__eta"}) {
		t.Errorf("tools offered = %v, want lookup_order and ship__eta only", names)
	}
	if _, ok := shipKeys.Load("k3y-ship"); !ok {
		t.Error("the MCP server never saw the instance's key")
	}

	// Asynchronously: pending at once, the same trace when done.
	async := s.must(t, http.StatusAccepted, "POST", path("/api/v1/ai/agents/instances/%d/execute?async_execution=true", inst), map[string]any{"message": "Where is A-17?"}, nil)
	var done map[string]any
	eventually(t, 30*time.Second, func() bool {
		_, done = s.do(t, "GET", path("/api/v1/ai/agents/executions/%v", async["id"]), nil, nil)
		return done["status"] == "completed" || done["status"] == "failed"
	})
	check(t, done)

	// The secrets are used and never shown: not by the instance, not by the
	// agent (which holds only references), not in an execution.
	for _, p := range []string{
		path("/api/v1/ai/agents/instances/%d", inst), path("/api/v1/agents/%d", agentID),
		path("/api/v1/ai/agents/executions/%v", sync["id"]), path("/api/v1/ai/agents/executions?instance_id=%d", inst),
	} {
		body := string(s.doRaw(t, "GET", p, nil, nil).Body)
		if strings.Contains(body, "s3cret-token") || strings.Contains(body, "k3y-ship") {
			t.Errorf("GET %s shows a secret: %s", p, body)
		}
	}
}

func TestDeclaredToolsFailClearly(t *testing.T) {
	t.Parallel()
	orders := ordersAPI(t)
	s := setup(t, opts{Env: map[string]string{"TESSERA_TOOLS_HTTP_ALLOW": "127.0.0.1"}})
	lookup := map[string]any{
		"name": "lookup_order", "description": "Look an order up", "url": orders.URL + "/orders/{{id}}",
		"headers": map[string]string{"Authorization": "Bearer {{secret.orders_token}}"},
	}

	// Definitions that cannot work are refused with the field at fault.
	for name, tc := range map[string]struct {
		body  map[string]any
		field string
	}{
		"a built-in's name": {map[string]any{"title": "x", "http_tools": []map[string]any{{"name": "calculator", "description": "d", "url": "https://x.example/"}}}, "body.http_tools.0.name"},
		"a templated host":  {map[string]any{"title": "x", "http_tools": []map[string]any{{"name": "t", "description": "d", "url": "https://{{host}}/x"}}}, "body.http_tools.0.url"},
		"a secret in the body": {map[string]any{"title": "x", "http_tools": []map[string]any{{"name": "t", "description": "d", "method": "POST",
			"url": "https://x.example/", "body": `{"k": "{{secret.k}}"}`}}}, "body.http_tools.0.body"},
		"an MCP server with both transports": {map[string]any{"title": "x", "mcp_servers": []map[string]any{{"name": "m", "url": "https://x.example/", "command": []string{"srv"}}}}, "body.mcp_servers.0"},
		"an unknown mcp: tool":               {map[string]any{"title": "x", "tools": []string{"mcp:nope"}}, "body.tools"},
		"an output_schema that is no schema": {map[string]any{"title": "x", "output_schema": map[string]any{"type": 3}}, "body.output_schema"},
	} {
		got := s.must(t, http.StatusUnprocessableEntity, "POST", "/api/v1/agents", tc.body, nil)
		if fields := problemFields(t, got); !slices.Contains(fields, tc.field) {
			t.Errorf("%s: problem fields = %v, want %s", name, fields, tc.field)
		}
	}

	// A run without the secret its tool needs fails with a message that
	// names the secret, and says nothing of any value.
	agentID := s.createAgent(t, map[string]any{"title": "Desk", "type": "chat", "http_tools": []map[string]any{lookup}}, nil)
	in := s.must(t, http.StatusCreated, "POST", "/api/v1/ai/agents/instances", map[string]any{"agent_id": agentID, "name": "no creds"}, nil)
	got := s.must(t, http.StatusOK, "POST", path("/api/v1/ai/agents/instances/%d/execute", intOf(t, in["id"])), map[string]any{"message": "x"}, nil)
	if got["status"] != "failed" || !strings.Contains(strOf(got["error_message"]), "orders_token") {
		t.Errorf("execution without the secret = %v", got)
	}

	// stdio MCP servers are refused unless the operator allows them.
	stdio := s.createAgent(t, map[string]any{"title": "Local", "type": "chat", "mcp_servers": []map[string]any{{"name": "local", "command": []string{"/bin/true"}}}}, nil)
	in = s.must(t, http.StatusCreated, "POST", "/api/v1/ai/agents/instances", map[string]any{"agent_id": stdio, "name": "local"}, nil)
	got = s.must(t, http.StatusOK, "POST", path("/api/v1/ai/agents/instances/%d/execute", intOf(t, in["id"])), map[string]any{"message": "x"}, nil)
	if got["status"] != "failed" || !strings.Contains(strings.ToLower(strOf(got["error_message"])), "stdio") {
		t.Errorf("execution with a stdio server not allowed = %v", got)
	}
}

func strOf(v any) string {
	s, _ := v.(string)
	return s
}

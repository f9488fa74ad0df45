package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/tessera-run/tessera/client"
)

// Run an agent named by its slug and print its answer.
func Example() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080", os.Getenv("TESSERA_API_KEY"))
	agent, err := c.Agents.Get(ctx, "support-bot")
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Execute(ctx, agent.ID, &client.ExecuteRequest{
		Message: "Where is my order?",
		Inputs:  map[string]any{"customer": "Ana"},
	})
	if err != nil {
		log.Fatal(err) // the server refused, or could not be reached
	}
	if res.Status != client.ResponseSucceeded {
		log.Fatalf("execution %d failed: %s", res.ID, res.Error)
	}
	fmt.Println(res.Output)
}

// Start a run, then print its text as it streams and its tool calls as they
// happen.
func ExampleClient_Events() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080", os.Getenv("TESSERA_API_KEY"))
	id, err := c.ExecuteAsync(ctx, 1, &client.ExecuteRequest{Message: "What is 6 times 7?", Tools: "calculator"})
	if err != nil {
		log.Fatal(err)
	}
	for ev, err := range c.Events(ctx, id, nil) {
		if err != nil {
			log.Fatal(err)
		}
		switch ev.Type {
		case client.EventDelta:
			fmt.Print(ev.Text())
		case client.EventIterationFinished:
			if it, err := ev.Iteration(); err == nil && it.Action != client.FinalAnswer {
				fmt.Printf("\n[%s %s → %s]\n", it.Action, it.ActionInput, it.Observation)
			}
		case client.EventDone:
			if d, err := ev.Done(); err == nil {
				fmt.Printf("\n%s, %d tokens\n", d.Status, d.Usage.InputTokens+d.Usage.OutputTokens)
			}
		}
	}
}

// Create an agent, or update the one with the same slug.
func ExampleAgentsService_Apply() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080", os.Getenv("TESSERA_API_KEY"))
	agent, result, err := c.Agents.Apply(ctx, &client.AgentSpec{
		Slug:         "support-bot",
		Title:        "Support bot",
		Instructions: "You answer questions about orders.",
		Tools:        []string{"http_request"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("agent %s %s (version %d)\n", agent.Slug, result, agent.Version)
}

// List the failed executions of an agent with their last step.
func ExampleExecutionsService_List() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080", os.Getenv("TESSERA_API_KEY"))
	list, err := c.Executions.List(ctx, &client.ExecutionListOptions{AgentID: 1, Status: client.StatusFailed, Limit: 10})
	if err != nil {
		log.Fatal(err)
	}
	for _, ex := range list.Items {
		fmt.Println(ex.ID, ex.ErrorMessage)
		if n := len(ex.Iterations); n > 0 {
			fmt.Println("  last step:", ex.Iterations[n-1].Action)
		}
	}
}

// An answer with an error status is an *Error with the server's message
// and per-field messages. Here a stand-in server answers as Tessera's
// native API does when an agent has no title.
func ExampleError() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprint(w, `{"type":"about:blank","title":"Unprocessable Entity","status":422,
			"detail":"The title field is required.",
			"errors":[{"location":"body.title","message":"The title field is required."}]}`)
	}))
	defer srv.Close()

	c := client.New(srv.URL, "tsk_example")
	_, err := c.Agents.Create(context.Background(), &client.AgentSpec{Slug: "untitled"})
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status)
		fmt.Println(e.Message)
		fmt.Println(e.Fields["title"])
	}
	// Output:
	// 422
	// The title field is required.
	// [The title field is required.]
}

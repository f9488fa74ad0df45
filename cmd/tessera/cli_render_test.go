package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-run/tessera/client"
)

func TestCLIProgressLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		frame  int
		state  string
		step   int
		action string
		want   string
	}{
		{0, "queued", 0, "", "⠋ execution 7 queued · 1.5s"},
		{11, "running", 2, "calculator", "⠙ execution 7 running · step 2 · last calculator · 1.5s"},
	} {
		if got := cliProgressLine(tc.frame, 7, tc.state, tc.step, tc.action, 1500*time.Millisecond); got != tc.want {
			t.Errorf("cliProgressLine = %q, want %q", got, tc.want)
		}
	}
}

// cliSyncBuffer is a buffer written by the progress goroutine.
type cliSyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *cliSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *cliSyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The display is drawn at once, follows the events, and is erased at the
// end.
func TestCLIProgressDisplay(t *testing.T) {
	t.Parallel()
	var out cliSyncBuffer
	p := cliStartProgress(&out, 7)
	for _, ev := range []client.Event{
		{Type: client.EventStatus, Data: json.RawMessage(`{"status":"running","attempt":1}`)},
		{Type: client.EventIterationStarted, Data: json.RawMessage(`{"iteration":2,"turn":2}`)},
		{Type: client.EventIterationFinished, Data: json.RawMessage(`{"iteration":2,"action":"calculator"}`)},
	} {
		if err := p.event(&ev); err != nil {
			t.Fatal(err)
		}
	}
	p.mu.Lock()
	state, step, action := p.state, p.step, p.action
	p.mu.Unlock()
	p.stop()
	got := out.String()
	if !strings.HasPrefix(got, "\r\x1b[K⠋ execution 7 ") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("display = %q", got)
	}
	if state != "running" || step != 2 || action != "calculator" {
		t.Errorf("state %q step %d action %q", state, step, action)
	}
}

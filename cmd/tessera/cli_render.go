package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tessera-run/tessera/client"
)

// cliStreamPrinter renders an execution's events for a person: the text
// as it streams on out (exactly the deltas: the server may join the text
// of several steps in one delta), one line per step and the outcome on
// log.
type cliStreamPrinter struct {
	out, log io.Writer
	// logTTY is set when log is a terminal, likely the same as out's: a
	// step line then starts on a line of its own.
	logTTY bool
	// midLine is set while out's last line is unfinished.
	midLine bool
	done    *client.Done
}

func (p *cliStreamPrinter) event(ev *client.Event) error {
	switch ev.Type {
	case client.EventDelta:
		if t := ev.Text(); t != "" {
			if _, err := io.WriteString(p.out, t); err != nil {
				return err
			}
			p.midLine = !strings.HasSuffix(t, "\n")
		}
	case client.EventIterationFinished:
		it, err := ev.Iteration()
		if err != nil {
			return err
		}
		p.logf("%s\n", cliIterationLine(it))
	case client.EventStatus:
		if s, err := ev.Status(); err == nil && s.Attempt > 1 && s.Status == "running" {
			p.logf("retrying: attempt %d\n", s.Attempt)
		}
	case client.EventError:
		var d struct {
			Message string `json:"message"`
		}
		if ev.Decode(&d) == nil && d.Message != "" {
			p.logf("error: %s\n", d.Message)
		}
	case client.EventDone:
		if p.midLine {
			fmt.Fprintln(p.out)
			p.midLine = false
		}
		d, err := ev.Done()
		if err != nil {
			return err
		}
		p.done = d
		if d.Status == client.StatusCompleted {
			p.logf("%s\n", cliDoneLine(d))
		}
	}
	return nil
}

// logf writes a line on log.
func (p *cliStreamPrinter) logf(format string, args ...any) {
	if p.midLine && p.logTTY {
		fmt.Fprintln(p.log)
	}
	fmt.Fprintf(p.log, format, args...)
}

// cliIterationLine describes a step:
// "[1] calculator {"expression":"6*7"} → 42 · 40 in / 10 out tokens · 12 ms".
func cliIterationLine(it *client.Iteration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%d] ", it.Iteration)
	if it.Action == client.FinalAnswer {
		b.WriteString("final answer")
	} else {
		b.WriteString(it.Action)
		if in := cliOneLine(string(it.ActionInput), 120); in != "" && in != "{}" {
			b.WriteString(" " + in)
		}
		if it.Error != "" {
			b.WriteString(" ✗ " + cliOneLine(it.Error, 160))
		} else {
			b.WriteString(" → " + cliOneLine(it.Observation, 160))
		}
	}
	if it.InputTokens > 0 || it.OutputTokens > 0 {
		fmt.Fprintf(&b, " · %d in / %d out tokens", it.InputTokens, it.OutputTokens)
	}
	fmt.Fprintf(&b, " · %d ms", it.LatencyMS)
	return b.String()
}

// cliDoneLine sums a completed run up.
func cliDoneLine(d *client.Done) string {
	s := fmt.Sprintf("%s · %d tokens (%d in / %d out)", d.Status, d.Usage.InputTokens+d.Usage.OutputTokens,
		d.Usage.InputTokens, d.Usage.OutputTokens)
	if d.Credits > 0 {
		s += " · " + strconv.FormatFloat(d.Credits, 'f', -1, 64) + " credits"
	}
	return s
}

// cliProgress is a one-line display on a terminal, redrawn while a run is
// waited for.
type cliProgress struct {
	w     io.Writer
	id    int64
	start time.Time
	quit  chan struct{}
	wg    sync.WaitGroup

	mu     sync.Mutex
	state  string
	step   int
	action string
}

// cliProgressInterval is how often the display is redrawn.
const cliProgressInterval = 120 * time.Millisecond

func cliStartProgress(w io.Writer, id int64) *cliProgress {
	p := &cliProgress{w: w, id: id, start: time.Now(), quit: make(chan struct{}), state: "queued"}
	p.wg.Go(func() {
		t := time.NewTicker(cliProgressInterval)
		defer t.Stop()
		for frame := 0; ; frame++ {
			p.mu.Lock()
			line := cliProgressLine(frame, p.id, p.state, p.step, p.action, time.Since(p.start))
			p.mu.Unlock()
			fmt.Fprint(p.w, "\r\x1b[K"+line)
			select {
			case <-t.C:
			case <-p.quit:
				fmt.Fprint(p.w, "\r\x1b[K")
				return
			}
		}
	})
	return p
}

// event updates the display from an execution event.
func (p *cliProgress) event(ev *client.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev.Type {
	case client.EventStatus:
		if s, err := ev.Status(); err == nil {
			p.state = s.Status
		}
	case client.EventIterationStarted:
		var d struct {
			Iteration int `json:"iteration"`
		}
		if ev.Decode(&d) == nil {
			p.step = d.Iteration
		}
	case client.EventIterationFinished:
		if it, err := ev.Iteration(); err == nil && it.Action != client.FinalAnswer {
			p.action = it.Action
		}
	case client.EventDone:
		p.state = "done"
	}
	return nil
}

// stop erases the display.
func (p *cliProgress) stop() {
	close(p.quit)
	p.wg.Wait()
}

var cliSpinner = []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

// cliProgressLine renders the display:
// "⠹ execution 7 running · step 2 · last calculator · 3.4s".
func cliProgressLine(frame int, id int64, state string, step int, action string, elapsed time.Duration) string {
	s := fmt.Sprintf("%c execution %d %s", cliSpinner[frame%len(cliSpinner)], id, state)
	if step > 0 {
		s += fmt.Sprintf(" · step %d", step)
	}
	if action != "" {
		s += " · last " + action
	}
	return s + fmt.Sprintf(" · %.1fs", elapsed.Seconds())
}

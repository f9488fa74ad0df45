package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/tool"
)

// Causes of a run's context ending, told apart when writing the outcome.
var (
	errLeaseLost = errors.New("the execution's lease was lost")
	errTimeout   = errors.New("the execution timed out")
	errCancelled = errors.New("the execution was cancelled")
)

// ErrRetryLater is returned by RunExecution when the execution cannot run
// yet (an earlier turn of its thread is still running); the queue tries the
// job again after After.
type ErrRetryLater struct{ After time.Duration }

func (e *ErrRetryLater) Error() string {
	return "engine: execution cannot run yet; retry after " + e.After.String()
}

// RetryAfter makes the queue snooze the job instead of counting a failure.
func (e *ErrRetryLater) RetryAfter() time.Duration { return e.After }

// RunExecution runs one execution to a terminal state. It is what queue
// workers call. It returns nil when there is nothing (more) to do for this
// job: the execution ran, was already terminal, is held by a live worker, or
// was handed back on shutdown for the sweeper to requeue. It returns
// *ErrRetryLater when the execution must wait for its thread, and another
// error only when the outcome could not be recorded, so the job is retried.
func (e *Engine) RunExecution(ctx context.Context, id int64) error {
	if e.slots != nil {
		// Holding a job while waiting for a slot would keep it from idle
		// nodes: hand it back for a moment instead.
		select {
		case e.slots <- struct{}{}:
			defer func() { <-e.slots }()
		default:
			return &ErrRetryLater{After: 100 * time.Millisecond}
		}
	}
	return e.runExecution(ctx, id)
}

// runExecution is RunExecution once a slot is held.
func (e *Engine) runExecution(ctx context.Context, id int64) error {
	now := e.cfg.Now()
	ex, err := e.store.ExecutionClaim(ctx, &tessera.ExecutionClaimParams{ID: id, Now: now, LeaseUntil: now.Add(e.cfg.Lease)})
	switch tessera.ErrorCode(err) {
	case "":
	case tessera.ECONFLICT, tessera.ENOTFOUND:
		return nil
	case tessera.EUNAVAILABLE:
		return &ErrRetryLater{After: 250 * time.Millisecond}
	default:
		return fmt.Errorf("engine: claim execution %d: %w", id, err)
	}
	e.events.publish(id, nil)
	e.notify(id)

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	e.track(id, cancel)
	defer e.untrack(id)
	if ex.CancelRequested {
		cancel(errCancelled)
	}
	runCtx, cancelTimeout := context.WithTimeoutCause(runCtx, e.timeout(ex), errTimeout)
	defer cancelTimeout()
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		e.heartbeat(runCtx, ex, cancel)
	}()

	out := newOutput(e, ex)
	res := e.run(runCtx, ex, out)
	cause := context.Cause(runCtx)
	cancel(nil)
	<-hbDone
	if res.status == "" {
		// Shutdown or a lost lease interrupted the run: no outcome to write.
		out.stop()
		return e.release(ex)
	}
	if errors.Is(cause, errCancelled) && res.status != tessera.StatusCompleted {
		res.status, res.errMsg = tessera.StatusCancelled, "The execution was cancelled."
	}
	return e.finish(ex, res, out)
}

// resolveTools turns tool names into tools; without a resolver there are
// no tools to have.
func (e *Engine) resolveTools(names []string) ([]tool.Tool, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if e.cfg.Tools == nil {
		return nil, tessera.Errorf(tessera.EINVALID, "The tools %s are not available on this server.", strings.Join(names, ", "))
	}
	return e.cfg.Tools.Resolve(names)
}

// timeout is the execution's own deadline, within the server's maximum.
func (e *Engine) timeout(ex *tessera.Execution) time.Duration {
	if ex.TimeoutMS > 0 {
		return min(time.Duration(ex.TimeoutMS)*time.Millisecond, e.cfg.MaxTimeout)
	}
	return e.cfg.Timeout
}

func (e *Engine) track(id int64, cancel context.CancelCauseFunc) {
	e.runningMu.Lock()
	e.running[id] = cancel
	e.runningMu.Unlock()
}

func (e *Engine) untrack(id int64) {
	e.runningMu.Lock()
	delete(e.running, id)
	e.runningMu.Unlock()
}

// outcome is what a run produced.
type outcome struct {
	status     tessera.Status
	stopReason string
	output     string
	errMsg     string
	modelUsed  string
	usage      tessera.Usage
	cost       float64
	credits    float64
	// structured is the answer parsed against the agent's output_schema.
	structured json.RawMessage
	// steps is how many iterations the loop recorded.
	steps int
}

// addCall adds one more answered model call to the outcome's usage and
// cost, at the price of the model that answered.
func (o *outcome) addCall(res *llm.Resolved, resp *llm.Response) {
	if resp.Resolved != nil {
		res = resp.Resolved
	}
	u := resp.Usage
	o.usage.InputTokens += u.InputTokens
	o.usage.OutputTokens += u.OutputTokens
	o.usage.CachedInputTokens += u.CachedInputTokens
	o.usage.ReasoningTokens += u.ReasoningTokens
	cost, credits := res.Price.Cost(u)
	o.cost += cost
	o.credits += credits
}

func (e *Engine) run(ctx context.Context, ex *tessera.Execution, out *output) outcome {
	agent, err := e.store.AgentGetByID(ctx, &tessera.AgentGetParams{ID: ex.AgentID, WorkspaceID: ex.WorkspaceID})
	if err != nil {
		if tessera.ErrorCode(err) == tessera.ENOTFOUND {
			return outcome{status: tessera.StatusFailed, errMsg: "The agent of this execution was deleted."}
		}
		return e.interrupted(ctx, ex, fmt.Errorf("load agent: %w", err), out)
	}
	res, err := e.resolveModel(ex.Model, agent.FallbackModels)
	if err != nil {
		return outcome{status: tessera.StatusFailed, errMsg: err.Error()}
	}
	msgs, err := e.conversation(ctx, agent, ex)
	if err != nil {
		return e.interrupted(ctx, ex, fmt.Errorf("load thread: %w", err), out)
	}
	if names := toolNames(ex.Tools); len(names) > 0 {
		inst, err := e.instanceOf(ctx, ex)
		if err != nil {
			return e.setupFailed(ctx, ex, err, out)
		}
		var acc rollup
		var secrets map[string]string
		if inst != nil {
			secrets = inst.Config.Credentials
		}
		p, err := e.plan(names, declared(agent, inst))
		var built *builtTools
		if err == nil {
			built, err = e.buildTools(ctx, ex, p, secrets, &acc)
			defer built.close()
		}
		if err != nil {
			return e.setupFailed(ctx, ex, err, out)
		}
		var o outcome
		if res.Price.TextReAct {
			o = e.reactLoop(ctx, ex, res, msgs, built.tools, out)
		} else {
			o = e.loop(ctx, ex, res, msgs, built.tools, e.providerSchema(res, agent), out)
		}
		e.structure(ctx, ex, agent, res, msgs, &o)
		acc.apply(&o)
		return o
	}
	resp, err := res.Provider.Generate(ctx, &llm.Request{Model: res.Model, Messages: msgs, Temperature: ex.Temperature,
		OutputSchema: e.providerSchema(res, agent)}, streamFor(res, out))
	if err != nil {
		o := e.interrupted(ctx, ex, err, out)
		o.modelUsed = res.Spec
		return o
	}
	m := newMeter(res)
	m.add(res, resp)
	o := outcome{status: tessera.StatusCompleted, output: clean(resp.Content)}
	m.fill(&o)
	e.structure(ctx, ex, agent, res, msgs, &o)
	return o
}

// resolveModel resolves the model of a run and, behind it, the agent's
// fallback models.
func (e *Engine) resolveModel(model string, fallbacks []string) (*llm.Resolved, error) {
	res, err := e.cfg.Registry.Resolve(model)
	if err != nil || len(fallbacks) == 0 {
		return res, err
	}
	chain := make([]*llm.Resolved, 0, len(fallbacks))
	for _, name := range fallbacks {
		fb, err := e.cfg.Registry.Resolve(name)
		if err != nil {
			return nil, fmt.Errorf("fallback model %q: %w", name, err)
		}
		chain = append(chain, fb)
	}
	return llm.WithFallbacks(res, chain), nil
}

// instanceOf loads the instance an execution runs on, nil for none.
func (e *Engine) instanceOf(ctx context.Context, ex *tessera.Execution) (*tessera.Instance, error) {
	if ex.InstanceID == nil {
		return nil, nil
	}
	inst, err := e.store.InstanceGetByID(ctx, &tessera.InstanceGetParams{ID: *ex.InstanceID, WorkspaceID: ex.WorkspaceID})
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		return nil, tessera.Errorf(tessera.EINVALID, "The instance of this execution was deleted.")
	}
	return inst, err
}

// setupFailed ends a run whose tools could not be made: a definition
// problem (EINVALID: a missing secret, an unknown tool) or an MCP server
// that cannot be reached fails the execution with its message; anything
// else is an interruption.
func (e *Engine) setupFailed(ctx context.Context, ex *tessera.Execution, err error, out *output) outcome {
	switch tessera.ErrorCode(err) {
	case tessera.EINVALID, tessera.EUNAVAILABLE:
		return outcome{status: tessera.StatusFailed, errMsg: tessera.ErrorMessage(err)}
	default:
		return e.interrupted(ctx, ex, fmt.Errorf("prepare tools: %w", err), out)
	}
}

// interrupted classifies a failure: the run's own deadline is a timeout and
// a cancel is a cancel (both keep the partial output); a context ended by
// shutdown or a lost lease is not an outcome at all (the caller hands the
// execution back); anything else fails the execution with a message safe to
// show.
func (e *Engine) interrupted(ctx context.Context, ex *tessera.Execution, err error, out *output) outcome {
	if ctx.Err() != nil {
		switch context.Cause(ctx) {
		case errTimeout:
			return outcome{status: tessera.StatusTimeout, output: out.text(), errMsg: fmt.Sprintf("The execution did not finish within %s.", e.timeout(ex))}
		case errCancelled:
			return outcome{status: tessera.StatusCancelled, output: out.text(), errMsg: "The execution was cancelled."}
		}
		return outcome{}
	}
	if pe, ok := llm.AsError(err); ok {
		return outcome{status: tessera.StatusFailed, output: out.text(), errMsg: "The model provider failed: " + pe.Error()}
	}
	e.log.Error("execution failed", "err", err)
	return outcome{status: tessera.StatusFailed, output: out.text(), errMsg: "The execution failed because of an internal error."}
}

// conversation assembles what the model sees: the agent's instructions (and
// the developer message) as the system message, the thread's earlier turns,
// then this turn's messages.
func (e *Engine) conversation(ctx context.Context, agent *tessera.Agent, ex *tessera.Execution) ([]llm.Message, error) {
	var turns []*tessera.Execution
	if ex.RootID != ex.ID {
		var err error
		turns, err = e.store.ExecutionThread(ctx, &tessera.ExecutionThreadParams{WorkspaceID: ex.WorkspaceID, RootID: ex.RootID, BeforeID: ex.ID})
		if err != nil {
			return nil, err
		}
	}
	developer := ""
	for _, t := range turns {
		if len(t.Messages) > 0 && t.Messages[0].Role == tessera.RoleDeveloper {
			developer = t.Messages[0].Content
		}
	}
	current := ex.Messages
	if len(current) > 0 && current[0].Role == tessera.RoleDeveloper {
		developer, current = current[0].Content, current[1:]
	}
	var system []string
	known := questionSet(agent)
	if s := strings.TrimSpace(Render(agent.Instructions, ex.Inputs, known)); s != "" {
		system = append(system, s)
	}
	// A chat agent's prompt template is context for the whole conversation,
	// unless it is itself this turn's message (no messages were sent).
	prompt := strings.TrimSpace(Render(agent.Prompt, ex.Inputs, known))
	promptIsMessage := len(current) == 1 && current[0].Content == prompt
	if agent.Type == tessera.AgentTypeChat && prompt != "" && !promptIsMessage {
		system = append(system, prompt)
	}
	if developer != "" {
		system = append(system, developer)
	}
	if ex.ContextType != "" || ex.ContextID != nil {
		system = append(system, contextLine(ex))
	}
	if len(agent.OutputSchema) > 0 {
		system = append(system, schemaInstructions(agent.OutputSchema))
	}
	var out []llm.Message
	if len(system) > 0 {
		out = append(out, llm.Message{Role: llm.RoleSystem, Content: strings.Join(system, "\n\n")})
	}
	for _, m := range historyOf(turns, ex.ID) {
		out = append(out, llm.Message{Role: m.Role, Content: m.Content})
	}
	for _, m := range current {
		out = append(out, llm.Message{Role: m.Role, Content: m.Content})
	}
	return out, nil
}

// contextLine tells the model which business object the execution is
// about (seed 003's context_type and context_id).
func contextLine(ex *tessera.Execution) string {
	line := "Context: " + ex.ContextType
	if ex.ContextID != nil {
		line += fmt.Sprintf(" %d", *ex.ContextID)
	}
	return strings.TrimSpace(line)
}

// historyOf returns the user and assistant messages of the completed turns
// before id (all turns when id is 0). Failed or cancelled turns are left
// out whole, so the history never holds a question without its answer.
func historyOf(turns []*tessera.Execution, id int64) []tessera.Message {
	var out []tessera.Message
	for _, t := range turns {
		if (id != 0 && t.ID >= id) || t.Status != tessera.StatusCompleted {
			continue
		}
		for _, m := range t.Messages {
			if m.Role != tessera.RoleDeveloper {
				out = append(out, m)
			}
		}
		out = append(out, tessera.Message{Role: tessera.RoleAssistant, Content: t.Output})
	}
	return out
}

// heartbeat renews the lease until ctx ends. When the lease is lost it
// cancels the run, since another worker may now own the execution; when a
// cancel was requested (possibly on another node) it cancels the run as
// cancelled.
func (e *Engine) heartbeat(ctx context.Context, ex *tessera.Execution, cancel context.CancelCauseFunc) {
	t := time.NewTicker(min(max(e.cfg.Lease/3, 10*time.Millisecond), 2*time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := e.cfg.Now()
		cancelRequested, err := e.store.ExecutionHeartbeat(ctx, &tessera.ExecutionHeartbeatParams{ID: ex.ID, Attempt: ex.Attempt, Now: now, LeaseUntil: now.Add(e.cfg.Lease)})
		switch {
		case err == nil && cancelRequested:
			cancel(errCancelled)
			return
		case err == nil:
		case tessera.ErrorCode(err) == tessera.ECONFLICT:
			cancel(errLeaseLost)
			return
		case ctx.Err() == nil:
			// A missed beat is not fatal: the lease outlives several beats.
			e.log.Warn("execution heartbeat failed", "execution_id", ex.ID, "err", err)
		}
	}
}

// finish writes the outcome with the last buffered deltas, fenced by the
// attempt; a write lost to another attempt is not an error.
func (e *Engine) finish(ex *tessera.Execution, res outcome, out *output) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pending := out.stop()
	if res.usage != (tessera.Usage{}) {
		pending = append(pending, tessera.EventInput{Type: tessera.EventUsage, Data: usageData{Model: res.modelUsed, Usage: res.usage, Cost: res.cost, Credits: res.credits}})
	}
	if res.status != tessera.StatusCompleted && res.errMsg != "" {
		pending = append(pending, tessera.EventInput{Type: tessera.EventError, Data: errorData{Message: res.errMsg}})
	}
	fin, err := e.store.ExecutionFinish(ctx, &tessera.ExecutionFinishParams{
		ID: ex.ID, Attempt: ex.Attempt, Status: res.status, Output: res.output, Error: res.errMsg,
		ModelUsed: res.modelUsed, Usage: res.usage, Cost: res.cost, Credits: res.credits, Events: pending, Now: e.cfg.Now(),
		StopReason: res.stopReason, StructuredOutput: res.structured,
	})
	switch tessera.ErrorCode(err) {
	case "":
		e.done.signal(ex.ID)
		e.publishTail(ctx, fin, len(pending)+1)
		e.notify(ex.ID)
		return nil
	case tessera.ECONFLICT:
		e.log.Warn("execution finished by another attempt; result dropped", "execution_id", ex.ID, "attempt", ex.Attempt)
		return nil
	default:
		return fmt.Errorf("engine: finish execution %d: %w", ex.ID, err)
	}
}

// usageData is the data of an EventUsage event: one model call's tokens.
type usageData struct {
	Model string `json:"model"`
	tessera.Usage
	Cost    float64 `json:"cost"`
	Credits float64 `json:"credits"`
}

// errorData is the data of an EventError event.
type errorData struct {
	Message string `json:"message"`
}

// publishTail hands the last n events of an execution to in-process
// followers, reading them back so that they carry their sequence numbers.
func (e *Engine) publishTail(ctx context.Context, ex *tessera.Execution, n int) {
	evs, err := e.store.EventListAfter(ctx, &tessera.EventListParams{ExecutionID: ex.ID, AfterSeq: ex.LastEventSeq - int64(n), Limit: n})
	if err != nil {
		evs = nil // followers catch up from the store on their own
	}
	e.events.publish(ex.ID, evs)
}

// release hands the execution back on shutdown so that the sweeper of this
// or another node requeues it at once.
func (e *Engine) release(ex *tessera.Execution) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := e.store.ExecutionRelease(ctx, &tessera.ExecutionHeartbeatParams{ID: ex.ID, Attempt: ex.Attempt, Now: e.cfg.Now()})
	if err != nil && tessera.ErrorCode(err) != tessera.ECONFLICT {
		// The lease expires by itself; the sweeper will find it then.
		e.log.Warn("release execution", "execution_id", ex.ID, "err", err)
	}
	return nil
}

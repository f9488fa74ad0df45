package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/tessera-run/tessera"
)

// NewStore returns a store over a fresh, migrated database and the recorder
// its enqueue hook reports to.
type NewStore func(t *testing.T) (tessera.Store, *Enqueued)

// Run runs the conformance suite. Each subtest gets its own store.
func Run(t *testing.T, newStore func(t *testing.T) (tessera.Store, *Enqueued)) {
	suites := []struct {
		name string
		run  func(t *testing.T, newStore NewStore)
	}{
		{"Ping", testPing},
		{"Workspace", testWorkspaces},
		{"APIKey", testAPIKeys},
		{"Agent", testAgents},
		{"AgentList", testAgentList},
		{"AgentUpsert", testAgentUpsert},
		{"Execution", testExecutions},
		{"ExecutionList", testExecutionList},
		{"Lease", testLeases},
		{"Requeue", testRequeue},
		{"ThreadClaim", testThreadClaim},
		{"Cancel", testCancel},
		{"Event", testEvents},
		{"Iteration", testIterations},
		{"Instance", testInstances},
		{"Schedule", testSchedules},
		{"AgentVersion", testAgentVersions},
		{"Webhook", testWebhooks},
		{"Trigger", testTriggers},
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s.run(t, newStore)
		})
	}
}

// ErrEnqueue is what Enqueued.Record returns while it is set to fail.
var ErrEnqueue = errors.New("storetest: enqueue failed")

// Enqueued records the executions a store's enqueue hook was called for.
// The zero value is ready to use and safe for concurrent use.
type Enqueued struct {
	mu   sync.Mutex
	fail bool
	ids  []int64
}

// firstJobID keeps job ids apart from execution ids, so that a store
// storing one for the other fails the suite.
const firstJobID = 1001

// Record is the body of the backend's enqueue hook: it records executionID
// and returns a new job id, or ErrEnqueue while failing.
func (e *Enqueued) Record(executionID int64) (jobID int64, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail {
		return 0, ErrEnqueue
	}
	e.ids = append(e.ids, executionID)
	return firstJobID + int64(len(e.ids)) - 1, nil
}

// SetFail makes Record fail (true) or succeed again (false).
func (e *Enqueued) SetFail(fail bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fail = fail
}

// ExecutionIDs returns the executions enqueued so far, in call order. A
// hook call whose transaction rolled back is still listed.
func (e *Enqueued) ExecutionIDs() []int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.ids)
}

func testPing(t *testing.T, newStore NewStore) {
	t.Run("Answers", func(t *testing.T) {
		f := setup(t, newStore)
		ok(t, f.store.Ping(f.ctx))
	})
}

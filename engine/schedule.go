package engine

// Schedules run an agent (or an instance) on a cron expression. Every node
// scans for due schedules (RunSchedules); a run is started at most once per
// slot however many nodes scan at once, because
//
//   - its execution carries the idempotency key "schedule:<id>:<slot>", so
//     a second submission for the same slot (a racing node, or a node that
//     died between submitting and advancing) returns the first execution;
//   - the schedule moves to its next slot by compare-and-set
//     (ScheduleAdvance from the slot it read), so one node advances it and
//     the others see it no longer due.
//
// Missed runs: the slots that passed while no node was running are
// coalesced into one run, for the latest of them, started at the first
// scan; the schedule then continues from the next slot after now.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zones must work on machines without /usr/share/zoneinfo

	"github.com/robfig/cron/v3"

	"github.com/tessera-run/tessera"
)

// cronParser reads five-field expressions (minute hour day month weekday)
// and the descriptors @yearly, @monthly, @weekly, @daily, @hourly.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// DefaultScheduleInterval is how often RunSchedules scans when told 0.
const DefaultScheduleInterval = 10 * time.Second

// dueBatch is how many due schedules one scan reads at a time.
const dueBatch = 100

// parseCron parses expr read in the zone tz ("" is UTC). Problems are
// EINVALID with the fields "cron" and "timezone".
func parseCron(expr, tz string) (cron.Schedule, *time.Location, error) {
	var v tessera.ValidationErrors
	loc, problem := loadZone(tz)
	if problem != "" {
		v.Add("timezone", "%s", problem)
	}
	expr = strings.TrimSpace(expr)
	var sched cron.Schedule
	var err error
	switch {
	case expr == "":
		v.Add("cron", "The cron expression is required.")
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		v.Add("cron", "Give the time zone in the timezone field, not in the cron expression.")
	case strings.HasPrefix(expr, "@every"):
		v.Add("cron", "@every is not supported; use a five-field expression or @yearly, @monthly, @weekly, @daily, @hourly.")
	default:
		if sched, err = cronParser.Parse(expr); err != nil {
			v.Add("cron", "The cron expression is not valid (%v); use five fields (minute hour day month weekday) or a descriptor such as @daily.", err)
		}
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	return sched, loc, nil
}

// loadZone returns the zone named tz ("" is UTC), or the problem with it.
// "Local" is refused: a schedule must not depend on the server's zone.
func loadZone(tz string) (*time.Location, string) {
	if tz == "" {
		return time.UTC, ""
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return nil, fmt.Sprintf("The timezone %q is not an IANA zone name such as Europe/Paris.", tz)
	}
	return loc, ""
}

// NextRun returns the first time after after that the cron expression
// fires, read in the zone tz ("" is UTC), in UTC. EINVALID (fields "cron"
// and "timezone") for a bad expression or zone, or one that never fires.
func NextRun(expr, tz string, after time.Time) (time.Time, error) {
	runs, err := NextRuns(expr, tz, after, 1)
	if err != nil {
		return time.Time{}, err
	}
	return runs[0], nil
}

// NextRuns returns the next n times after after that the cron expression
// fires, in UTC; errors as NextRun's.
func NextRuns(expr, tz string, after time.Time, n int) ([]time.Time, error) {
	sched, loc, err := parseCron(expr, tz)
	if err != nil {
		return nil, err
	}
	runs := make([]time.Time, 0, n)
	t := after.In(loc)
	for range n {
		if t = sched.Next(t); t.IsZero() {
			break
		}
		runs = append(runs, t.UTC())
	}
	if len(runs) == 0 {
		return nil, invalidField("cron", "The cron expression never fires.")
	}
	return runs, nil
}

// latestSlot returns the latest time the schedule fires at or before now,
// from from on (from itself when no later one has passed). It looks back
// from now in doubling windows, so a long outage costs a few steps, not one
// per missed slot.
func latestSlot(sched cron.Schedule, from, now time.Time) time.Time {
	slot := from
	for back := time.Minute; ; back *= 2 {
		start := now.Add(-back)
		if !start.After(from) {
			break
		}
		if n := sched.Next(start); !n.IsZero() && !n.After(now) {
			slot = n
			break
		}
	}
	for n := sched.Next(slot); !n.IsZero() && !n.After(now); n = sched.Next(slot) {
		slot = n
	}
	return slot
}

// RunSchedules starts the runs of due schedules every interval (0:
// DefaultScheduleInterval), the first scan at once, until ctx ends.
func (e *Engine) RunSchedules(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = DefaultScheduleInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := e.FireDueSchedules(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("fire due schedules", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// FireDueSchedules makes one scan: it starts the run of every schedule due
// at the clock's now and advances each to its next slot. It returns how
// many schedules it advanced after starting their run; a schedule another
// node advanced first is not counted, nor one whose run was refused. The
// error joins what failed, the other schedules being fired regardless.
func (e *Engine) FireDueSchedules(ctx context.Context) (int, error) {
	now := e.cfg.Now()
	fired := 0
	var errs []error
	for {
		due, err := e.store.ScheduleDue(ctx, now, dueBatch)
		if err != nil {
			return fired, fmt.Errorf("engine: due schedules: %w", err)
		}
		moved := 0
		for _, sc := range due {
			ran, advanced, err := e.fireSchedule(ctx, sc, now)
			if err != nil {
				errs = append(errs, fmt.Errorf("engine: schedule %d: %w", sc.ID, err))
			}
			if ran && advanced {
				fired++
			}
			if advanced {
				moved++
			}
		}
		// Another batch only when this one made room: never spin on
		// schedules that cannot advance.
		if len(due) < dueBatch || moved < len(due) || ctx.Err() != nil {
			return fired, errors.Join(errs...)
		}
	}
}

// fireSchedule starts the run of one due schedule for its latest passed
// slot and advances it past now. ran says an execution exists for the slot
// (new, or one a racing node made); advanced that this call moved the
// schedule. A submission the engine refuses (the agent's input no longer
// valid) is logged and the slot skipped; one that failed for a reason that
// may pass (the database, ctx) leaves the schedule due for the next scan.
func (e *Engine) fireSchedule(ctx context.Context, sc *tessera.Schedule, now time.Time) (ran, advanced bool, err error) {
	sched, loc, err := parseCron(sc.Cron, sc.Timezone)
	if err != nil {
		return false, false, e.disableSchedule(ctx, sc, now, tessera.ErrorMessage(err))
	}
	from := *sc.NextRunAt
	slot := latestSlot(sched, from.In(loc), now.In(loc)).UTC()
	if !slot.Equal(from) {
		e.log.Info("schedule missed runs while no server ran; running the latest once",
			"schedule_id", sc.ID, "first_missed", from, "slot", slot)
	}
	next := sched.Next(now.In(loc)).UTC()
	if next.IsZero() {
		return false, false, e.disableSchedule(ctx, sc, now, "The cron expression never fires again.")
	}
	ex, err := e.submitScheduled(ctx, sc, slot)
	switch {
	case err == nil:
		ran = true
	case ctx.Err() != nil || tessera.ErrorCode(err) == tessera.EUNAVAILABLE:
		return false, false, err
	default:
		e.log.Warn("scheduled run refused; skipped to the next slot",
			"schedule_id", sc.ID, "slot", slot, "next_run_at", next, "err", err)
	}
	params := &tessera.ScheduleAdvanceParams{ID: sc.ID, From: from, Next: next, Now: now}
	if ex != nil {
		params.ExecutionID = ex.ID
	}
	advanced, err = e.store.ScheduleAdvance(ctx, params)
	if err != nil {
		return ran, false, err
	}
	if !advanced {
		e.log.Debug("schedule advanced by another node", "schedule_id", sc.ID, "slot", slot)
	} else if ran {
		e.log.Info("schedule fired", "schedule_id", sc.ID, "execution_id", ex.ID, "slot", slot, "next_run_at", next)
	}
	return ran, advanced, nil
}

// disableSchedule turns off a schedule that cannot compute its slots (its
// expression or zone no longer parses), so that it is not read every scan.
func (e *Engine) disableSchedule(ctx context.Context, sc *tessera.Schedule, now time.Time, why string) error {
	e.log.Error("schedule disabled", "schedule_id", sc.ID, "cron", sc.Cron, "timezone", sc.Timezone, "reason", why)
	off := *sc
	off.Enabled, off.NextRunAt = false, nil
	_, err := e.store.ScheduleUpdate(ctx, &tessera.ScheduleUpdateParams{Schedule: &off, Now: now})
	return err
}

// submitScheduled submits the run of a schedule for slot.
func (e *Engine) submitScheduled(ctx context.Context, sc *tessera.Schedule, slot time.Time) (*tessera.Execution, error) {
	agent, err := e.store.AgentGetByID(ctx, &tessera.AgentGetParams{ID: sc.AgentID, WorkspaceID: sc.WorkspaceID})
	if err != nil {
		return nil, err
	}
	var inst *tessera.Instance
	if sc.InstanceID != nil {
		inst, err = e.store.InstanceGetByID(ctx, &tessera.InstanceGetParams{ID: *sc.InstanceID, WorkspaceID: sc.WorkspaceID})
		if err != nil {
			return nil, err
		}
	}
	req, err := scheduleRequest(agent, inst, sc, slot)
	if err != nil {
		return nil, err
	}
	return e.Submit(ctx, req)
}

// scheduleRequest maps a schedule's run onto an ExecuteRequest as seed
// 003's instance execute does its body: the instance's defaults under the
// schedule's input, the instance's overrides of the agent, and, when the
// agent has no prompt template, the user's message from a message, input
// or query field, else the input as JSON.
func scheduleRequest(agent *tessera.Agent, inst *tessera.Instance, sc *tessera.Schedule, slot time.Time) (*ExecuteRequest, error) {
	var input map[string]json.RawMessage
	if len(sc.Input) > 0 {
		if err := json.Unmarshal(sc.Input, &input); err != nil {
			return nil, invalidField("input", "The schedule's input is not a JSON object.")
		}
	}
	req := InputRequest(agent, inst, input, map[string]any{"schedule_id": sc.ID, "scheduled_for": slot})
	req.WorkspaceID, req.AgentID, req.TriggerType = sc.WorkspaceID, sc.AgentID, tessera.TriggerScheduled
	req.IdempotencyKey = "schedule:" + strconv.FormatInt(sc.ID, 10) + ":" + strconv.FormatInt(slot.Unix(), 10)
	return req, nil
}

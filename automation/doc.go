// Package automation runs a tenant's rules: when a trigger happens to a
// conversation (it was created, the customer wrote, it was assigned, or a
// timer such as "no agent reply for 10 minutes" ran out) and every
// condition of a rule holds, the rule's actions run, in the transaction of
// the change that triggered them.
//
// Rules run in position order; one that stops processing ends the pass.
// An action that causes another trigger (an assignment) runs that
// trigger's rules one level deeper, up to maxDepth: rules cannot loop.
// Every execution is logged in automation_runs (rule, conversation,
// actions, outcome), queryable as automationRuns.
//
// Timers are durable River jobs scheduled by the service clock when their
// trigger arms them (the customer's message arms "no agent reply"), and
// checked again when they fire: an agent who replied at minute 9 makes the
// 10-minute timer a logged SKIPPED, and a timer armed before a restart
// fires after it on whichever instance works it.
package automation

// Package mixed is the mixed realtime benchmark (`make bench-mixed`, issue
// 16): a contact centre rather than the all-owner best case of
// bench/realtime. One tenant with a few numbers, N agents with the built-in
// agent role, each a member of one number (spread evenly) and assigned a
// share of the conversations, and S supervisors; every agent and supervisor
// holds one websocket subscribed to conversationEvents with their own row
// scope, while customers write in through signed WhatsApp webhooks at a
// fixed rate.
//
// Two processes per run, both on 127.0.0.1: the server (Serve: the App as
// server.go builds it, over SQLite in a temporary directory, job workers on,
// no demo; it seeds, then prints a Ready line), and the load (Run, in the
// driver's process): it opens the websockets, posts the webhooks and
// measures
//   - server CPU per inbound message: the server process's user+system time
//     from /proc/<pid>/stat over the measured window (first post until
//     everything arrived or the drain ended), divided by the messages;
//   - SQL statements per message, counted by a wrapper around the server's
//     ent driver (River's own statements do not go through it);
//   - webhook → assignee and webhook → supervisor latency: receive time minus
//     the time just before the message's POST;
//   - the share delivered within the run, to assignees, supervisors and the
//     number's other agents (who see the conversation too).
//
// Matching an event to a message: customers never read, so a conversation's
// unreadCount is the number of customer messages it holds, and an event
// showing unreadCount u tells its receiver about every message up to the
// u-th of that conversation (the server loads the row as it is when the
// event executes, so one event may carry several messages). Messages go to
// the conversations round-robin; a conversation gets its next one well after
// the previous (conversations ÷ rate seconds later).
package mixed

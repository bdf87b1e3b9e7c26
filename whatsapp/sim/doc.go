// Package sim is a simulator of Meta's WhatsApp Cloud API, failures
// included, so that tests, demos and load benchmarks run without a Meta
// account. A Simulator is an http.Handler: point whatsapp.Client.BaseURL at
// it, in-process (httptest.NewServer(s)) or run on its own.
//
// # What it simulates
//
// The Graph API routes, any version (/v21.0/, /v23.0/, ...), each call
// checked against the number's access token (error 190, HTTP 401):
//   - POST /{phone_number_id}/messages: text, template, image, video, audio,
//     document, sticker (by id or link), interactive buttons and lists,
//     reaction, location, contacts, replies (context.message_id), and mark as
//     read. Shapes are checked like Meta does (error 100, HTTP 400); the answer
//     carries a fresh wamid.
//   - GET /{phone_number_id}?fields=...: the number's health, as
//     whatsapp.Client.HealthCheck reads it, only with the number's token.
//   - GET /{waba_id}/phone_numbers: the business account's numbers that the
//     token owns (Config.WABAID; whatsapp.Client.BusinessNumbers).
//   - POST /{phone_number_id}/media, GET and DELETE /{media_id}: uploads and
//     the download URL of any file, customers' attachments included.
//   - Groups (cap of 8 participants): POST and GET /{phone_number_id}/groups,
//     GET, POST (subject, description) and DELETE /{group_id}, GET and POST
//     /{group_id}/invite_link, GET, POST (approve) and DELETE (reject)
//     /{group_id}/join_requests, DELETE /{group_id}/participants, and sends
//     with recipient_type "group" (no interactive messages). As at Meta,
//     creation answers with a request id; the group id and invite link come
//     in the group_lifecycle_update webhook, settings changes in
//     group_settings_update. A number with GroupMode GroupModeApp behaves
//     like the phone app instead: AppMaxParticipants members, and POST
//     /{group_id}/participants adds them by number (refused otherwise).
//
// Every accepted send is followed by signed webhooks (X-Hub-Signature-256 with
// the app secret) in Meta's shape: statuses sent, delivered and read after
// Config.StatusDelays, delivered sometimes skipped (Config.SkipDelivered). A
// webhook the receiver does not acknowledge with a 2xx is posted again with a
// doubling back-off, for a bounded time. Number changes (SetStatus,
// SetQuality, SetTier) post account_update and phone_number_quality_update
// webhooks and show in the health answer; group changes post
// group_lifecycle_update and group_participants_update webhooks.
//
// Rules Meta enforces on sends, all answered with HTTP 400 as Meta does:
//   - 130429 when a number sends faster than its throughput (token bucket,
//     DefaultThroughput per second, per number);
//   - 131056 when it writes to the same customer again within
//     Config.PairInterval (6 s; negative disables it for load tests);
//   - 131047 for anything but a template when the customer has not written
//     in the last 24 hours;
//   - 131031 when the number is BANNED.
//
// Time windows and rate limits follow simulated time (Now), which Advance
// moves forward: a test closes a 24-hour window without waiting.
//
// # Faults on demand
//
// SetFaults sets the share of webhooks posted twice, of messages whose
// statuses arrive newest first, of messages that end failed (with an error
// code; per recipient too), and the latency added to every answer.
// StartOutage makes every call, health checks included, answer 503 (code 2)
// or 500 (code 131000) for a while.
//
// # Customers
//
// WriteIn is a customer writing in: text, media, location, contacts, button
// and list replies to an interactive message sent before, template quick
// replies, reactions, replies, messages in groups (refused when the group is
// admins-only and the sender is not an admin). JoinGroup is a customer
// opening an invite link; CancelJoinRequest, LeaveGroup and SuspendGroup
// post the other documented group webhooks. StartCustomers has a stable set
// of simulated customers write in at a chosen rate, answering what they were
// sent, and now and then open a group's invite link.
//
// # Log
//
// Log lists every accepted send: number, recipient, type, body digest, wamid,
// time, biz_opaque_callback_data and the statuses acknowledged; Duplicates
// finds the sends that repeat an earlier one.
//
// # Control API
//
// JSON under /_sim/, durations as Go duration strings:
//
//	GET    /_sim/log                         the log; DELETE clears it
//	GET    /_sim/faults                      the faults; PUT replaces them:
//	       {"duplicate_rate":0.1,"reorder_rate":0.1,"fail_rate":0.05,"fail_code":131026,
//	        "fail_recipients":{"16505551234":131026},"latency":"200ms"}
//	PUT    /_sim/outage                      {"duration":"30s","status":503}; DELETE ends it
//	GET    /_sim/clock                       simulated time; POST {"advance":"25h"} moves it
//	PUT    /_sim/pair_interval               {"interval":"6s"}; "0s": the default, "-1s": no pair limit
//	GET    /_sim/numbers                     the numbers, without tokens; POST adds one
//	PATCH  /_sim/numbers/{id}                {"status":"BANNED","quality_rating":"RED",
//	                                          "messaging_limit_tier":"TIER_10K","throughput":200}
//	POST   /_sim/inbound                     {"phone_number_id","from","profile_name","group_id",
//	                                          "message":{"type":"text","text":{"body":"hi"}}}
//	PUT    /_sim/customers                   {"rate":2,"numbers":["..."]}; DELETE stops them
//	POST   /_sim/join                        {"invite_link","wa_id","profile_name"}
//	PATCH  /_sim/groups/{id}                 {"admins_only":true}
//	PUT    /_sim/groups/{id}/admins/{wa_id}  makes a member admin; DELETE unmakes
//	GET    /_sim/media/{id}/content          the download URL of GET /{media_id}
//
// # Running it alone
//
//	go run ./whatsapp/sim/cmd/whatsapp-sim -addr 127.0.0.1:9090 \
//	    -webhook http://127.0.0.1:8080/webhooks/whatsapp -app-secret s3cret \
//	    -number 109876543210987:sim-token -customers 0.5
//
// # Where it departs from Meta
//
// Meta often reports 131047 asynchronously, as a failed status; the
// simulator refuses the send at once, and a failed status with that code is
// one fault away (Faults.FailRecipients). Pricing in statuses is per message
// (PMP), decided when the message is accepted: answers inside the customer's
// window are free service messages (billed beyond Config.ServiceFreeTier a
// month per number); templates are billed in their category
// (Config.TemplateCategories, utility by default), except a utility template
// inside the window, which is free. Admins-only sending is not a Cloud API setting; it is set here
// (SetAdminsOnly) to reproduce what a group set up in the app does.
package sim

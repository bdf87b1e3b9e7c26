package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent/broadcastrecipient"
	"github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

// advance moves Switchboard's clock (and the simulator's by as much) and
// signs in again: access tokens live 15 minutes of that clock.
func (b *castBundle) advance(t testing.TB, d time.Duration, simToo bool) {
	t.Helper()
	b.clock.Advance(d)
	if simToo {
		require.NoError(t, b.sim.Advance(d))
	}
	b.owner = b.s.Login(t, "owner@acme.test", graphtest.Password)
}

// castBundle is Switchboard on a moved clock, wired to the simulator with
// several numbers of one business account.
type castBundle struct {
	sim      *sim.Simulator
	s        *graphtest.Server
	clock    *clock.Fake
	owner    string
	tenantID string
	numbers  []string // Switchboard ids, in the order of simNumber(i)
	wsURL    string
}

func simNumber(i int) string { return fmt.Sprintf("1002003%02d", i) }

// setupBroadcast links n simulator numbers to a tenant in Europe/Paris whose
// clock (services and job schedule) starts at start, the simulator's clock
// moved to the same instant.
func setupBroadcast(t testing.TB, dialectName string, n int, start time.Time) *castBundle {
	t.Helper()
	return setupBroadcastAt(t, dialectName, n, 80, start)
}

// setupBroadcastAt is setupBroadcast with numbers of the given throughput
// (messages per second, on the simulator and in Switchboard).
func setupBroadcastAt(t testing.TB, dialectName string, n, throughput int, start time.Time) *castBundle {
	t.Helper()
	return setupBroadcastWith(t, dialectName, n, throughput, start, castOptions{})
}

// castOptions are what a benchmark changes in the harness: the database's
// driver (a statement counter) and where the App logs (nowhere when nil).
type castOptions struct {
	store []store.Option
	log   *slog.Logger
}

func setupBroadcastWith(t testing.TB, dialectName string, n, throughput int, start time.Time, o castOptions) *castBundle {
	t.Helper()
	db := storetest.Open(t, dialectName, o.store...)
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	var nums []sim.Number
	for i := range n {
		nums = append(nums, sim.Number{PhoneNumberID: simNumber(i), Token: simToken, DisplayPhone: fmt.Sprintf("336000001%02d", i), Throughput: throughput})
	}
	simulator, err := sim.New(sim.Config{
		WebhookURL: srv.URL + "/webhooks/whatsapp", AppSecret: simSecret, Numbers: nums,
		StatusDelays: sim.StatusDelays{Sent: 5 * time.Millisecond, Delivered: 5 * time.Millisecond, Read: 5 * time.Millisecond},
		PairInterval: -1, RetryBackoff: 50 * time.Millisecond, Seed: 12,
	})
	require.NoError(t, err)
	t.Cleanup(simulator.Close)
	if ahead := time.Until(start); ahead > 0 {
		require.NoError(t, simulator.Advance(ahead))
	}
	simSrv := httptest.NewServer(simulator)
	t.Cleanup(simSrv.Close)

	fake := clock.NewFake(start)
	appOpts := []app.Option{app.WithWorkers(true), app.WithClock(fake), app.WithJobClock(fake)}
	if o.log != nil {
		appOpts = append(appOpts, app.WithLogger(o.log))
	}
	s := graphtest.New(t, db, graph.Config{}, graphtest.WithApp(appOpts...),
		graphtest.WithConfig(func(c *app.Config) {
			c.WhatsAppAPIURL, c.WhatsAppAppSecret, c.WhatsAppVerifyToken = simSrv.URL, []byte(simSecret), "verify"
			c.SimURL = simSrv.URL
			c.JobPollInterval = 100 * time.Millisecond
		}))
	handler = s.App.Handler()
	tenantID, owner := s.Tenant(t, "acme")
	require.NoError(t, db.Client.Tenant.UpdateOneID(tenantID).SetTimezone("Europe/Paris").Exec(viewer.Platform(t.Context())))
	b := &castBundle{sim: simulator, s: s, clock: fake, owner: owner, tenantID: tenantID, wsURL: "ws" + srv.URL[len("http"):] + "/graphql"}
	for i := range n {
		r := s.Do(t, owner, `mutation($p: String!, $phone: String!, $tp: Int!) { linkNumber(input: {phone: $phone, displayName: "Shop", provider: sim, phoneNumberID: $p, wabaID: "`+sim.DefaultWABAID+`", throughput: $tp}) { id } }`,
			map[string]any{"p": simNumber(i), "phone": fmt.Sprintf("+336000001%02d", i), "tp": throughput})
		r.RequireOK(t)
		var linked struct{ LinkNumber struct{ ID string } }
		r.Decode(t, &linked)
		s.Do(t, owner, `mutation($id: ID!, $t: String!) { setNumberCredentials(id: $id, accessToken: $t) { attention } }`,
			map[string]any{"id": linked.LinkNumber.ID, "t": simToken}).RequireOK(t)
		b.numbers = append(b.numbers, linked.LinkNumber.ID)
	}
	return b
}

// customers have each wa_id write to number i, wait until Switchboard holds
// their contacts, and tag them.
func (b *castBundle) customers(t testing.TB, number int, tags []string, waIDs ...string) {
	t.Helper()
	for _, wa := range waIDs {
		_, err := b.sim.WriteIn(simNumber(number), wa, whatsapp.Message{Type: "text", Text: "hello", ProfileName: "Customer " + wa[len(wa)-3:]})
		require.NoError(t, err)
	}
	ctx := viewer.System(t.Context(), b.tenantID)
	require.Eventually(t, func() bool {
		n, err := b.s.App.DB.Client.Contact.Query().Where(contact.WaIDIn(waIDs...)).Count(ctx)
		return err == nil && n == len(waIDs)
	}, 30*time.Second, 20*time.Millisecond)
	_, err := b.s.App.DB.Client.Contact.Update().Where(contact.WaIDIn(waIDs...)).SetTags(tags).Save(ctx)
	require.NoError(t, err)
}

// template adds a template to the simulated business account, syncs, and
// returns its Switchboard id.
func (b *castBundle) template(t testing.TB, tpl sim.Template) string {
	t.Helper()
	_, err := b.sim.AddTemplate(tpl)
	require.NoError(t, err)
	b.s.Do(t, b.owner, `mutation { syncTemplates }`, nil).RequireOK(t)
	r := b.s.Do(t, b.owner, `query($n: String!) { messageTemplates(where: {name: $n}) { edges { node { id status category } } } }`,
		map[string]any{"n": tpl.Name})
	r.RequireOK(t)
	var out struct {
		MessageTemplates struct {
			Edges []struct {
				Node struct{ ID, Status, Category string }
			}
		}
	}
	r.Decode(t, &out)
	require.Len(t, out.MessageTemplates.Edges, 1)
	require.Equal(t, "APPROVED", out.MessageTemplates.Edges[0].Node.Status)
	return out.MessageTemplates.Edges[0].Node.ID
}

type castStats struct {
	Planned, Queued, Skipped, Sent, Delivered, Read, Replied, Failed int
	ReadRate, ReplyRate                                              float64
	SkippedBy                                                        []struct {
		Key   string
		Count int
	}
}

const statsFields = `planned queued skipped sent delivered read replied failed readRate replyRate skippedBy { key count }`

func (b *castBundle) stats(t testing.TB, id string) castStats {
	t.Helper()
	r := b.s.Do(t, b.owner, `query($id: ID!) { broadcastStats(id: $id) { `+statsFields+` } }`, map[string]any{"id": id})
	r.RequireOK(t)
	var out struct{ BroadcastStats castStats }
	r.Decode(t, &out)
	return out.BroadcastStats
}

func (b *castBundle) state(t testing.TB, id string) (string, *time.Time) {
	t.Helper()
	bc, err := b.s.App.DB.Client.Broadcast.Get(viewer.System(t.Context(), b.tenantID), id)
	require.NoError(t, err)
	return string(bc.State), bc.StartedAt
}

func (b *castBundle) create(t testing.TB, input map[string]any, startAt string) string {
	t.Helper()
	r := b.s.Do(t, b.owner, `mutation($in: BroadcastInput!) { createBroadcast(input: $in) { id state } }`, map[string]any{"in": input})
	r.RequireOK(t)
	var out struct{ CreateBroadcast struct{ ID, State string } }
	r.Decode(t, &out)
	require.Equal(t, "DRAFT", out.CreateBroadcast.State)
	b.s.Do(t, b.owner, `mutation($id: ID!, $at: String) { scheduleBroadcast(id: $id, startAt: $at) { state } }`,
		map[string]any{"id": out.CreateBroadcast.ID, "at": startAt}).RequireOK(t)
	return out.CreateBroadcast.ID
}

// TestFridayVIPBroadcast is the Friday 20:00 scenario: a marketing template
// to every contact tagged VIP, capped at 2 marketing messages per contact per
// 30 days. It starts at 20:00 tenant time and not before, contacts at the
// cap are skipped with the reason, progress is pushed to a subscriber, and
// the read and reply rates equal what the simulated customers did (each with
// their own probability of reading and answering), also 24 hours later.
func TestFridayVIPBroadcast(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			paris, err := time.LoadLocation("Europe/Paris")
			require.NoError(t, err)
			friday := time.Date(2026, 12, 4, 19, 59, 0, 0, paris)
			b := setupBroadcast(t, d, 2, friday)
			var vips, capped []string
			for i := range 40 {
				vips = append(vips, fmt.Sprintf("3361000%04d", i))
			}
			b.customers(t, 0, []string{"VIP"}, vips[:20]...)
			b.customers(t, 1, []string{"VIP", "wine"}, vips[20:]...)
			b.customers(t, 0, []string{"regular"}, "33620000001", "33620000002")
			capped = vips[:6]
			for i, wa := range vips {
				b.sim.SetEngagement(wa, sim.Engagement{Read: 0.3 + 0.6*float64(i%4)/3, Reply: 0.2 + 0.2*float64(i%3)})
			}
			ctx := viewer.System(t.Context(), b.tenantID)
			client := b.s.App.DB.Client
			// the capped contacts received two marketing messages this month
			prior, err := client.Broadcast.Create().SetName("November sale").SetState("DONE").SetCategory("MARKETING").
				SetAudience(schematype.BroadcastAudience{TagsAll: []string{"VIP"}}).Save(ctx)
			require.NoError(t, err)
			for i, wa := range capped {
				c, err := client.Contact.Query().Where(contact.WaID(wa)).Only(ctx)
				require.NoError(t, err)
				for k := range 2 {
					require.NoError(t, client.BroadcastRecipient.Create().SetBroadcastID(prior.ID).SetContactID(c.ID).
						SetPosition(2*i+k).SetState(broadcastrecipient.StateSENT).SetMarketing(true).
						SetAttemptedAt(friday.AddDate(0, 0, -10-k)).Exec(ctx))
					if k == 0 {
						prior2, err := client.Broadcast.Create().SetName("Black Friday").SetState("DONE").SetCategory("MARKETING").
							SetAudience(schematype.BroadcastAudience{TagsAll: []string{"VIP"}}).Save(ctx)
						require.NoError(t, err)
						prior = prior2
					}
				}
			}
			// one VIP opted out
			_, err = client.Contact.Update().Where(contact.WaID(vips[39])).SetOptIn(contact.OptInOPTED_OUT).Save(ctx)
			require.NoError(t, err)

			b.s.Do(t, b.owner, `mutation { setBroadcastPolicy(input: {marketingCap: 2, marketingCapDays: 30, messagingLimit: 0}) { marketingCap } }`, nil).RequireOK(t)
			tpl := b.template(t, sim.TextTemplate("vip_friday", "en", "MARKETING", "Hi {{1}}, 20% off tonight only", false))
			id := b.create(t, map[string]any{"name": "VIP Friday", "templateID": tpl, "variables": []string{"contact.name"},
				"tagsAll": []string{"VIP"}}, "2026-12-04T20:00")

			ws := dialWS(t, b.wsURL, b.owner)
			ws.send(`{"id":"p","type":"subscribe","payload":{"query":"subscription($id: ID!) { broadcastProgress(id: $id) { kind broadcast { state } stats { sent planned } } }","variables":{"id":"` + id + `"}}}`)
			first := ws.next("p")
			require.Equal(t, "SCHEDULED", dig(first, "broadcast", "state"))

			time.Sleep(1500 * time.Millisecond) // the job polls every 100 ms: a minute early, it must not start
			state, _ := b.state(t, id)
			require.Equal(t, "SCHEDULED", state, "nothing before 20:00")
			require.Empty(t, b.sim.Log())

			b.clock.Advance(time.Minute) // 20:00 in Paris
			require.Eventually(t, func() bool { s, _ := b.state(t, id); return s == "DONE" }, 40*time.Second, 50*time.Millisecond)
			_, started := b.state(t, id)
			require.Equal(t, time.Date(2026, 12, 4, 20, 0, 0, 0, paris), started.In(paris))

			pushed := 0
			for {
				ev := ws.next("p")
				if dig(ev, "stats", "sent") != float64(0) {
					pushed++
				}
				if dig(ev, "broadcast", "state") == "DONE" {
					break
				}
			}
			require.Positive(t, pushed, "progress is pushed while sending")

			// every simulated customer has done what they will do
			truth := func() (delivered, read, replied int) {
				for _, o := range b.sim.Outcomes() {
					if o.Delivered {
						delivered++
					}
					if o.Read {
						read++
					}
					if o.Replied {
						replied++
					}
				}
				return
			}
			require.Len(t, b.sim.Log(), 40-6-1)
			var st castStats
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				delivered, read, replied := truth()
				st = b.stats(t, id)
				assert.Equal(c, 33, delivered, "delivered by the simulator")
				assert.Equal(c, []int{delivered, read, replied}, []int{st.Delivered, st.Read, st.Replied},
					"the broadcast's delivered, read and replied reach the simulator's")
			}, 30*time.Second, 100*time.Millisecond)
			require.Equal(t, 40, st.Planned)
			require.Equal(t, 7, st.Skipped)
			require.ElementsMatch(t, []struct {
				Key   string
				Count int
			}{{"CAPPED", 6}, {"OPTED_OUT", 1}}, st.SkippedBy)
			_, read, replied := truth()
			require.InDelta(t, float64(read)/33, st.ReadRate, 1e-9)
			require.InDelta(t, float64(replied)/33, st.ReplyRate, 1e-9)
			require.Positive(t, read)
			require.Less(t, read, 33, "customers who never read exist")
			require.Positive(t, replied)

			// 24 simulated hours later: a late answer does not count as a reply
			b.advance(t, 25*time.Hour, true)
			_, err = b.sim.WriteIn(simNumber(0), vips[7], whatsapp.Message{Type: "text", Text: "too late?"})
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				n, err := client.Message.Query().Where(message.Body("too late?")).Count(ctx)
				return err == nil && n == 1
			}, 20*time.Second, 10*time.Millisecond, "the late answer is stored")
			later := b.stats(t, id)
			require.Equal(t, st.Replied, later.Replied)
			require.InDelta(t, st.ReplyRate, later.ReplyRate, 1e-9)

			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/broadcasts/"+id+"/outcomes.csv", nil)
			req.Header.Set("Authorization", "Bearer "+b.owner)
			rec := httptest.NewRecorder()
			b.s.App.Handler().ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), "CAPPED")
			require.Contains(t, rec.Body.String(), "REPLIED")
		})
	}
}

// TestRestaurantChefRecommendation is the chain's scenario: an image and
// text template to the customers of 12 numbers at 10:00, each customer
// written to from the number they talk to.
func TestRestaurantChefRecommendation(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			paris, err := time.LoadLocation("Europe/Paris")
			require.NoError(t, err)
			b := setupBroadcast(t, d, 12, time.Date(2026, 12, 7, 9, 30, 0, 0, paris))
			branchOf := map[string]string{}
			for i := range 12 {
				var was []string
				for k := range 3 {
					wa := fmt.Sprintf("3365%02d%05d", i, k)
					was = append(was, wa)
					branchOf[wa] = simNumber(i)
				}
				b.customers(t, i, []string{"customer"}, was...)
			}
			tpl := b.template(t, sim.TextTemplate("chef_reco", "fr", "MARKETING", "Aujourd'hui le chef recommande {{1}}", true))
			id := b.create(t, map[string]any{"name": "Chef's recommendation", "templateID": tpl,
				"variables": []string{"text:la blanquette"}, "headerImage": "https://example.com/blanquette.jpg",
				"tagsAll": []string{"customer"}, "sender": "LAST_NUMBER"}, "2026-12-07T10:00")
			b.advance(t, 30*time.Minute, false)
			require.Eventually(t, func() bool { s, _ := b.state(t, id); return s == "DONE" }, 40*time.Second, 50*time.Millisecond)
			log := b.sim.Log()
			require.Len(t, log, 36)
			for _, sent := range log {
				require.Equal(t, branchOf[sent.To], sent.Number, "each customer hears from their own restaurant")
				require.Equal(t, "template", sent.Type)
			}
			st := b.stats(t, id)
			require.Equal(t, 36, st.Sent)
			require.Zero(t, st.Skipped)
		})
	}
}

// dig reads a path in an event.
func dig(ev map[string]any, path ...string) any {
	var v any = ev
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// TestTemplatesFromTheProvider: templates come from the business account
// (name, language, category, status, body variables, header), and an
// approval change reaches Switchboard by webhook: a paused template cannot
// be broadcast.
func TestTemplatesFromTheProvider(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setupBroadcast(t, d, 1, time.Now())
			b.customers(t, 0, []string{"VIP"}, "33610009999")
			id := b.template(t, sim.TextTemplate("order_ready", "en_US", "UTILITY", "Order {{1}} is ready, {{2}}", true))
			r := b.s.Do(t, b.owner, `query { messageTemplates { edges { node { name language category status bodyVariables headerFormat body } } } }`, nil)
			r.RequireOK(t)
			require.JSONEq(t, `{"messageTemplates":{"edges":[{"node":{"name":"order_ready","language":"en_US","category":"UTILITY","status":"APPROVED","bodyVariables":2,"headerFormat":"IMAGE","body":"Order {{1}} is ready, {{2}}"}}]}}`, string(r.Data))

			require.NoError(t, b.sim.SetTemplateStatus("order_ready", "en_US", "PAUSED", "LOW_QUALITY"))
			require.Eventually(t, func() bool {
				tpl, err := b.s.App.DB.Client.MessageTemplate.Get(viewer.System(t.Context(), b.tenantID), id)
				return err == nil && tpl.Status == "PAUSED" && tpl.Reason != ""
			}, 20*time.Second, 20*time.Millisecond, "the status webhook pauses it")
			r = b.s.Do(t, b.owner, `mutation($t: ID!) { createBroadcast(input: {name: "x", templateID: $t, variables: ["contact.name", "text:x"], headerImage: "https://example.com/a.jpg", tagsAll: ["VIP"]}) { id } }`,
				map[string]any{"t": id})
			r.RequireCode(t, "INVALID_INPUT")
		})
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/demo"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

var (
	// artifacts is where the browser tests write their screenshots.
	artifacts = flag.String("artifacts", filepath.Join(os.TempDir(), "switchboard-browser"),
		"directory for the browser tests' screenshots")
	// latencyBar is the p99 that webhook → DOM must stay under, and the bound
	// for a number going offline to turn red. CI (CI=true) runs this test
	// alone (make test runs it after every other package), so there the
	// product's goal, 1 s, is enforced; elsewhere the figures are logged and
	// the bar is off unless asked (-latency-bar=1s), because a developer's
	// machine shared with other work measured p99 from 0.7 to 6.7 s
	// (docs/notes.md). -latency-bar=0 turns it off under CI too.
	latencyBar = flag.Duration("latency-bar", defaultLatencyBar(), "the p99 bound for webhook → text in the console's DOM (0: log only; 1s when CI=true)")
)

// latencyGoal is the product's goal for webhook → DOM at p99 (issue 15).
const latencyGoal = time.Second

func defaultLatencyBar() time.Duration {
	if os.Getenv("CI") == "true" {
		return latencyGoal
	}
	return 0
}

// The demo's numbers (their phone number ids) and a customer of the tests.
const (
	parisNumber = "33612345601"
	lyonNumber  = "33612345602"
	customerWA  = "33699900001"
	customer    = "Browser Tester"
)

// TestBrowser drives the supervisor console and GraphiQL in headless
// Chromium against the demo server as `make run` starts it, simulator
// included.
func TestBrowser(t *testing.T) {
	chrome := chromePath()
	if chrome == "" {
		t.Skip("no Chromium found (apt-get install chromium, or set CHROME_PATH): the browser tests are skipped")
	}
	srv := startDemo(t, map[string]string{
		// A number that drops offline is noticed by the next health read.
		"SWITCHBOARD_HEALTH_INTERVAL": "300ms",
		// Access tokens this short make the console refresh during the test.
		"SWITCHBOARD_ACCESS_TOKEN_TTL": "40s",
	})
	require.NoError(t, os.MkdirAll(*artifacts, 0o755))
	t.Logf("screenshots in %s", *artifacts)

	alloc, cancel := chromedp.NewExecAllocator(t.Context(),
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.WindowSize(1280, 860),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	t.Cleanup(cancel)

	t.Run("console", func(t *testing.T) { testConsole(t, alloc, srv) })
	t.Run("graphiql", func(t *testing.T) { testGraphiQL(t, alloc, srv) })
	t.Run("console as auditor", func(t *testing.T) { testAuditor(t, alloc, srv) })
}

func testConsole(t *testing.T, alloc context.Context, srv *demoServer) {
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	net := watchNetwork(t, ctx)
	shot := screenshots(t, ctx, "console")

	// Sign in as the supervisor.
	act(t, ctx, 90*time.Second,
		chromedp.Navigate(srv.base+"/console"),
		chromedp.WaitVisible(`input[name=email]`),
		chromedp.SendKeys(`input[name=email]`, "supervisor@demo.switchboard.local"),
		chromedp.SendKeys(`input[name=password]`, demo.OwnerPassword),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`.conn-live`),
		waitCount(`.number`, 3),
		waitCount(`.agent`, 6),
		waitCount(`.figures .figure`, 7),
		waitCount(`.conversation`, 1),
	)
	act(t, ctx, 60*time.Second, waitCount(`.number .volume`, 3), chromedp.WaitVisible(`.queue .queue-length`))
	text := textOf(t, ctx, `body`)
	for _, want := range []string{"Acme Paris", "Acme Lyon", "Acme Berlin", "Sofia Supervisor", "Chen Wei #103", "Numbers online",
		"First response today (target 5 min)", "within target", "waiting for an agent"} {
		require.Contains(t, text, want)
	}
	require.Equal(t, "DISCONNECTED", attrOf(t, ctx, `//li[contains(@class,"number")][contains(., "Acme Berlin")]`, "data-status"))
	// Numbers show status, quality and tier; agents presence and load
	// against capacity.
	require.Regexp(t, `quality (green|yellow|red)`, textOf(t, ctx, `//li[contains(@class,"number")][contains(., "Acme Paris")]`))
	require.Regexp(t, `\d+/\d+`, textOf(t, ctx, `//li[contains(@class,"agent")][contains(., "Chen Wei")]//span[@class="load"]`))
	requireAccessible(t, ctx, "signed in at 1,280 px")
	shot("1-signed-in")

	session := `JSON.parse(sessionStorage.getItem('switchboard.session')).refreshToken`
	firstRefresh := get(t, ctx, chromedp.Evaluate[string](session))

	// First load: what came over HTTP (the page, its scripts and styles,
	// the first queries), and nothing from anywhere but this server.
	firstLoad := net.bytes()
	t.Logf("first load: %d requests, %d bytes as transferred (the server does not compress; assets %d bytes)",
		len(net.urls()), firstLoad, net.assetBytes())
	require.Less(t, firstLoad, int64(250<<10), "the console's first load must stay under 250 KB")

	// Lyon's new conversations go to Sales, whose agents are all offline: a
	// customer writing in waits in the queue, which the page shows with the
	// wait.
	owner := srv.login(t, demo.OwnerEmail)
	ids := srv.gql(t, owner, `{ numbers(where: {displayName: "Acme Lyon"}) { edges { node { id } } } teams(where: {name: "Sales"}) { edges { node { id } } } }`)
	lyonID := ids["numbers"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)["id"]
	salesID := ids["teams"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)["id"]
	srv.gql(t, owner, fmt.Sprintf(`mutation { setRoutingPolicy(numberID: %q, policy: {strategies: [LEAST_LOADED], teamID: %q}) { id } }`, lyonID, salesID))
	srv.webhook(t, lyonNumber, "33699900055", "Queued Customer", "Is anyone there?")
	act(t, ctx, 60*time.Second,
		chromedp.WaitVisible(`//li[contains(@class,"queued-conversation")][contains(., "Queued Customer")]`),
		chromedp.WaitVisible(`.queue .queue-wait`))
	require.Regexp(t, `^[1-9]\d*$`, textOf(t, ctx, `.queue .queue-length`))
	act(t, ctx, 60*time.Second, chromedp.Poll[chromedp.Void](`document.querySelector('.queue .queue-wait').textContent !== '0 s'`,
		chromedp.WithPollingTimeout(0)))
	shot("1a-queue")

	// A simulated customer writes in; the conversation appears live.
	srv.simInbound(t, parisNumber, customerWA, customer, "Hello, is my order on its way?")
	conv := fmt.Sprintf(`//button[contains(@class,"conversation")][contains(., %q)]`, customer)
	act(t, ctx, 60*time.Second,
		chromedp.WaitVisible(conv),
		chromedp.Click(conv),
		chromedp.WaitVisible(`//ol[contains(@class,"messages")]//p[contains(., "is my order on its way")]`),
	)
	shot("2-customer-message")

	// The list's filters: by number, status and assignee, each showing only
	// what matches.
	filterBy(t, ctx, "number", "Acme Lyon")
	requireAllConversations(t, ctx, "data-number", attrOf(t, ctx, `//select[@name="number"]/option[.="Acme Lyon"]`, "value"))
	require.False(t, has(t, ctx, conv), "a Paris conversation is not listed under Acme Lyon")
	shot("2a-filter-number")
	filterBy(t, ctx, "number", "All numbers")
	filterBy(t, ctx, "status", "resolved")
	requireAllConversations(t, ctx, "data-status", "RESOLVED")
	require.False(t, has(t, ctx, conv), "an open conversation is not listed as resolved")
	filterBy(t, ctx, "status", "Not resolved")
	filterBy(t, ctx, "assignee", "Unassigned")
	requireAllConversations(t, ctx, "data-assignee", "")
	filterBy(t, ctx, "assignee", "Chen Wei #103")
	requireAllConversations(t, ctx, "data-assignee", attrOf(t, ctx, `//select[@name="assignee"]/option[.="Chen Wei #103"]`, "value"))
	filterBy(t, ctx, "assignee", "Anyone")
	act(t, ctx, 60*time.Second, chromedp.WaitVisible(conv))

	// The keyboard alone: Tab to the customer's conversation, Enter opens it.
	act(t, ctx, 60*time.Second, chromedp.Click(`.bar h1`), tabTo(fmt.Sprintf(`button.conversation[data-id=%q]`, attrOf(t, ctx, conv, "data-id"))),
		chromedp.KeyEvent("\r"), chromedp.WaitVisible(conv+`[@aria-current="true"]`), chromedp.WaitVisible(`#reply-text`))

	// The supervisor replies; the simulator reports it sent, then delivered
	// (or read).
	reply := "Yes, it arrives tomorrow morning."
	delivered := fmt.Sprintf(`//li[contains(@class,"outbound")][contains(., %q)][@data-status="DELIVERED" or @data-status="READ"]`, reply)
	act(t, ctx, 60*time.Second,
		chromedp.SendKeys(`#reply-text`, reply),
		chromedp.Click(`form.reply button[type=submit]`),
		chromedp.WaitVisible(fmt.Sprintf(`//li[contains(@class,"outbound")][contains(., %q)]`, reply)),
		chromedp.WaitVisible(delivered+`//span[contains(@class,"ticks")]`),
	)
	require.Equal(t, "✓✓", textOf(t, ctx, delivered+`//span[contains(@class,"ticks")]`))
	shot("3-reply-delivered")

	// Webhook arrival to text in the DOM, over 50 messages.
	lat := measureArrivals(t, ctx, srv, 50)
	t.Logf("webhook → DOM over %d messages: p50 %v, p90 %v, p99 %v, max %v",
		len(lat), percentile(lat, 50), percentile(lat, 90), percentile(lat, 99), lat[len(lat)-1])
	if *latencyBar > 0 {
		require.Less(t, percentile(lat, 99), *latencyBar, "p99 from webhook to the page")
	}
	shot("4-fifty-messages")

	// A number drops offline: it turns red within a second (the health read
	// every 300 ms included).
	lyon := `//li[contains(@class,"number")][contains(., "Acme Lyon")]`
	start := time.Now()
	srv.simPatch(t, "/_sim/numbers/"+lyonNumber, `{"status":"DISCONNECTED"}`)
	act(t, ctx, 60*time.Second, chromedp.WaitVisible(lyon+`[@data-status="DISCONNECTED"]`))
	red := time.Since(start)
	t.Logf("number offline at the simulator → red in the page: %v (health read every 300ms)", red.Round(time.Millisecond))
	if *latencyBar > 0 {
		require.Less(t, red, *latencyBar, "a number dropping offline turns red within the bar")
	}
	bg := get(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.evaluate('`+lyon+`//span[@class="badge"]', document, null, 9, null).singleNodeValue).backgroundColor`))
	require.Equal(t, "rgb(179, 38, 30)", bg, "an offline number's badge is red")
	require.Contains(t, textOf(t, ctx, lyon), "Offline")
	requireAccessible(t, ctx, "a number offline")
	shot("5-number-offline")
	srv.simPatch(t, "/_sim/numbers/"+lyonNumber, `{"status":"CONNECTED"}`)

	// The connection drops and cannot come back for a while: the page says
	// it is reconnecting; a message that arrives meanwhile shows once it is
	// back, because its subscription resumes with after.
	act(t, ctx, 90*time.Second, blockWebSockets(srv, true), closeWebSockets(),
		chromedp.WaitVisible(`.conn-reconnecting`), chromedp.WaitVisible(`.banner`))
	srv.webhook(t, parisNumber, customerWA, customer, "Sent while you were away")
	requireAccessible(t, ctx, "reconnecting")
	shot("6-reconnecting")
	act(t, ctx, 90*time.Second, blockWebSockets(srv, false),
		chromedp.WaitVisible(`.conn-live`),
		chromedp.WaitVisible(`//ol[contains(@class,"messages")]//p[contains(., "Sent while you were away")]`),
	)

	// The access token lived 40 s: the console has refreshed it (a new
	// refresh token each time) without the supervisor noticing.
	// On a fast machine the test gets here before the token is due: wait.
	require.Eventually(t, func() bool {
		return get(t, ctx, chromedp.Evaluate[string](session)) != firstRefresh
	}, 60*time.Second, 500*time.Millisecond, "the console rotated its refresh token")
	act(t, ctx, 60*time.Second, chromedp.WaitVisible(`.conn-live`))

	// A phone-sized screen: one column; the open conversation takes it.
	act(t, ctx, 60*time.Second,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.WaitVisible(`.back`),
	)
	requireAccessible(t, ctx, "phone, a conversation")
	requireFits(t, ctx, 390)
	shot("7-phone-conversation")
	act(t, ctx, 60*time.Second, chromedp.Click(`.back`), chromedp.WaitVisible(`.list`))
	requireFits(t, ctx, 390)
	shot("8-phone-list")

	net.requireOnly(t, srv)
}

// testAuditor signs in as the auditor, who reads everything but changes
// nothing and may not see phones in the clear: no reply box, masked phones,
// no figures (the dashboard needs report.view_own).
func testAuditor(t *testing.T, alloc context.Context, srv *demoServer) {
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	net := watchNetwork(t, ctx)
	shot := screenshots(t, ctx, "auditor")
	act(t, ctx, 180*time.Second,
		chromedp.Navigate(srv.base+"/console"),
		chromedp.WaitVisible(`input[name=email]`),
		chromedp.SendKeys(`input[name=email]`, "auditor@demo.switchboard.local"),
		chromedp.SendKeys(`input[name=password]`, demo.OwnerPassword),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`.conn-live`),
		waitCount(`.number`, 3),
		waitCount(`.agent`, 6),
		waitCount(`.conversation`, 1),
		chromedp.Click(`.conversation`),
		waitCount(`.message`, 1),
	)
	phone := textOf(t, ctx, `.thread-head .meta`)
	require.Contains(t, phone, "•", "the auditor sees phones masked: %s", phone)
	absent := get(t, ctx, chromedp.Evaluate[bool](`!document.querySelector('#reply-text') && !document.querySelector('.today')`))
	require.True(t, absent, "no reply box and no figures for a role without conversation.reply and report.view_own")
	for _, p := range get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('.conversation, .queued-conversation')].map(e => e.textContent)`)) {
		require.NotRegexp(t, `\+\d{6,}`, p, "no phone in the clear anywhere in the lists")
	}
	requireAccessible(t, ctx, "read-only")
	shot("1-read-only")
	net.requireOnly(t, srv)
}

func testGraphiQL(t *testing.T, alloc context.Context, srv *demoServer) {
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	net := watchNetwork(t, ctx)
	shot := screenshots(t, ctx, "graphiql")

	// The headers tab holds the token; the editor a dashboard subscription.
	token := srv.login(t, demo.OwnerEmail)
	headers, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + token})
	query := "subscription Live {\n  dashboard { at openConversations waitingConversations numbersConnected }\n}\n"
	act(t, ctx, 90*time.Second,
		chromedp.Navigate(srv.base+"/healthz"),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`localStorage.setItem('graphiql:query', %q); localStorage.setItem('graphiql:headers', %q)`,
			query, string(headers))),
		chromedp.Navigate(srv.base+"/"),
		chromedp.WaitVisible(`.graphiql-execute-button`),
		chromedp.Click(`.graphiql-execute-button`),
		chromedp.WaitVisible(`//section[contains(@class,"result-window")]//*[contains(., "numbersConnected")]`),
	)
	first := textOf(t, ctx, `.result-window`)
	shot("1-dashboard")

	// A customer writes in: the counters move and the result follows.
	srv.simInbound(t, parisNumber, "33699900077", "GraphiQL Watcher", "Anyone there?")
	var changed bool
	deadline := time.Now().Add(60 * time.Second)
	for !changed && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		changed = textOf(t, ctx, `.result-window`) != first
	}
	require.True(t, changed, "the dashboard subscription showed no update: %s", first)
	shot("2-dashboard-updated")

	net.requireOnly(t, srv)
	require.Len(t, net.sockets, 1, "the subscription went over one websocket")
}

// filterBy picks the option with the given text in the conversation list's
// filter, as a person would (a change event), and waits for the list.
func filterBy(t *testing.T, ctx context.Context, name, option string) {
	t.Helper()
	act(t, ctx, 60*time.Second, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const s = document.querySelector('select[name=%q]');
		const o = [...s.options].find(o => o.textContent.trim() === %q);
		if (!o) throw new Error('no option %s');
		s.value = o.value;
		s.dispatchEvent(new Event('change', {bubbles: true}));
	})()`, name, option, option)))
	// The list reloads: wait until it settles (two reads 300 ms apart agree).
	var last string
	for i := 0; i < 100; i++ {
		time.Sleep(300 * time.Millisecond)
		now := get(t, ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('.conversation')].map(b => b.dataset.id).join() + '|' + (document.querySelector('.list .muted') || {}).textContent`))
		if now == last {
			return
		}
		last = now
	}
	t.Fatalf("the list never settled after filtering %s by %s", name, option)
}

// requireAllConversations checks every listed conversation has attr = want.
func requireAllConversations(t *testing.T, ctx context.Context, attr, want string) {
	t.Helper()
	got := get(t, ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`[...document.querySelectorAll('.conversation')].map(b => b.getAttribute(%q))`, attr)))
	for _, v := range got {
		require.Equal(t, want, v, "a listed conversation does not match the filter on %s", attr)
	}
}

func has(t *testing.T, ctx context.Context, xpath string) bool {
	t.Helper()
	return get(t, ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.evaluate(%q, document, null, 9, null).singleNodeValue !== null`, xpath)))
}

// tabTo presses Tab until the element the CSS selector names has the focus.
func tabTo(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for range 200 {
			focused, err := chromedp.Evaluate[bool](fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, sel))(ctx, tg)
			if err != nil || focused {
				return err
			}
			if _, err := chromedp.KeyEvent("\t")(ctx, tg); err != nil {
				return err
			}
		}
		return fmt.Errorf("%s never got the focus from the keyboard", sel)
	})
}

// requireAccessible checks the page as it is: every form control has a
// label, every button a name, and every visible text a contrast of at least
// 4.5:1 with what is behind it (3:1 for large text), as WCAG AA asks.
func requireAccessible(t *testing.T, ctx context.Context, step string) {
	t.Helper()
	problems := get(t, ctx, chromedp.Evaluate[[]string](`(() => {
		const out = [];
		const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'; };
		const name = el => (el.getAttribute('aria-label') || (el.labels && [...el.labels].map(l => l.textContent).join('')) ||
			(el.getAttribute('aria-labelledby') || '').split(' ').map(id => (document.getElementById(id) || {}).textContent || '').join('') ||
			el.textContent || el.title || '').trim();
		for (const el of document.querySelectorAll('input, select, textarea, button, meter')) {
			if (visible(el) && !name(el)) out.push('no accessible name: ' + el.outerHTML.slice(0, 80));
		}
		const rgba = c => { const m = c.match(/[\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
		const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
		const background = el => {
			for (let e = el; e; e = e.parentElement) {
				const c = rgba(getComputedStyle(e).backgroundColor);
				if (c[3] > 0.5) return c;
			}
			return [255, 255, 255, 1];
		};
		const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		const seen = new Set();
		for (let n = walker.nextNode(); n; n = walker.nextNode()) {
			const el = n.parentElement;
			if (!n.textContent.trim() || seen.has(el) || !visible(el) || el.closest('[disabled], [aria-hidden="true"]')) continue;
			seen.add(el);
			const st = getComputedStyle(el);
			const fg = rgba(st.color), bg = background(el);
			const L1 = lum(fg), L2 = lum(bg);
			const ratio = (Math.max(L1, L2) + 0.05) / (Math.min(L1, L2) + 0.05);
			const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
			const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
			if (ratio < need) out.push('contrast ' + ratio.toFixed(2) + ' < ' + need + ': "' + n.textContent.trim().slice(0, 40) + '" (' + st.color + ' on rgb(' + bg.slice(0, 3) + '))');
		}
		return out.slice(0, 12);
	})()`))
	require.Empty(t, problems, "accessibility (%s)", step)
}

// requireFits checks nothing is wider than the screen: no sideways scroll.
func requireFits(t *testing.T, ctx context.Context, width int) {
	t.Helper()
	scroll := get(t, ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	require.LessOrEqual(t, scroll, width, "the page scrolls sideways at %d px", width)
}

// measureArrivals posts n signed webhooks, each with a customer's text, and
// returns, sorted, how long each took from the moment it was posted to the
// moment its text was in the page's DOM (both read from this machine's
// clock).
func measureArrivals(t *testing.T, ctx context.Context, srv *demoServer, n int) []time.Duration {
	t.Helper()
	// The page records the first time it holds each probe's text.
	act(t, ctx, 60*time.Second, chromedp.Evaluate[chromedp.Void](`(() => {
		window.__seen = {};
		const probe = /\[probe-\d+-[a-z0-9]+\]/g;
		const look = node => {
			for (const m of (node.textContent || '').matchAll(probe)) window.__seen[m[0]] ??= Date.now();
		};
		new MutationObserver(records => {
			for (const r of records) {
				if (r.type === 'characterData') look(r.target);
				for (const a of r.addedNodes) look(a);
			}
		}).observe(document.body, {childList: true, subtree: true, characterData: true});
	})()`))

	// One at a time, the next once the page shows the last: the time of
	// each message, not of a queue of them.
	nonce := fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)
	posted := make(map[string]time.Time, n)
	for i := range n {
		text := fmt.Sprintf("[probe-%d-%s]", i, nonce)
		posted[text] = time.Now()
		srv.webhook(t, parisNumber, customerWA, customer, text)
		act(t, ctx, 60*time.Second, chromedp.Poll[chromedp.Void](fmt.Sprintf(`window.__seen[%q] !== undefined`, text), chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(0)))
	}
	seen := get(t, ctx, chromedp.Evaluate[map[string]int64](`window.__seen`))
	require.Len(t, seen, n, "every message's text reached the page")
	lat := make([]time.Duration, 0, n)
	for i := range n {
		text := fmt.Sprintf("[probe-%d-%s]", i, nonce)
		lat = append(lat, time.UnixMilli(seen[text]).Sub(posted[text]))
	}
	t.Logf("in the order sent: %v", lat)
	slices.Sort(lat)
	return lat
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (p*len(sorted)+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// demoServer is the server as `make run` starts it.
type demoServer struct {
	base, addr string
	secret     []byte
}

func startDemo(t *testing.T, env map[string]string) *demoServer {
	t.Helper()
	env["SWITCHBOARD_DATA_DIR"] = t.TempDir()
	env["SWITCHBOARD_ADDR"] = graphtest.FreeAddr(t)
	cfg, err := app.LoadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, newLogger(app.Config{LogLevel: 8}), &bytes.Buffer{}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("the server did not stop")
		}
	})
	s := &demoServer{base: "http://" + cfg.Addr, addr: cfg.Addr, secret: cfg.WhatsAppAppSecret}
	graphtest.WaitReady(t, s.base+"/readyz")
	return s
}

func (s *demoServer) do(t *testing.T, method, path, contentType string, body []byte, header http.Header) []byte {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(res.Body)
	require.Less(t, res.StatusCode, 300, "%s %s: %s", method, path, out.String())
	return out.Bytes()
}

func (s *demoServer) login(t *testing.T, email string) string {
	t.Helper()
	q, _ := json.Marshal(map[string]string{"query": fmt.Sprintf(`mutation { login(email: %q, password: %q) { accessToken } }`, email, demo.OwnerPassword)})
	var res struct {
		Data struct{ Login struct{ AccessToken string } }
	}
	require.NoError(t, json.Unmarshal(s.do(t, http.MethodPost, "/graphql", "application/json", q, nil), &res))
	require.NotEmpty(t, res.Data.Login.AccessToken)
	return res.Data.Login.AccessToken
}

// gql runs a query or mutation with token and returns its data.
func (s *demoServer) gql(t *testing.T, token, query string) map[string]any {
	t.Helper()
	q, _ := json.Marshal(map[string]string{"query": query})
	var res struct {
		Data   map[string]any
		Errors []any
	}
	require.NoError(t, json.Unmarshal(s.do(t, http.MethodPost, "/graphql", "application/json", q, http.Header{"Authorization": {"Bearer " + token}}), &res))
	require.Empty(t, res.Errors, "%s", query)
	return res.Data
}

// simInbound has a customer write in through the in-process simulator,
// which then knows the customer's 24-hour window is open.
func (s *demoServer) simInbound(t *testing.T, phoneNumberID, from, name, text string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"phone_number_id": phoneNumberID, "from": from, "profile_name": name,
		"message": map[string]any{"type": "text", "text": map[string]string{"body": text}}})
	s.do(t, http.MethodPost, "/sim/_sim/inbound", "application/json", body, nil)
}

func (s *demoServer) simPatch(t *testing.T, path, body string) {
	t.Helper()
	s.do(t, http.MethodPatch, "/sim"+path, "application/json", []byte(body), nil)
}

// webhook posts a customer's text as Meta does, signed with the app secret.
func (s *demoServer) webhook(t *testing.T, phoneNumberID, from, name, text string) {
	t.Helper()
	msg := map[string]any{"from": from, "id": fmt.Sprintf("wamid.test-%d", time.Now().UnixNano()), "timestamp": fmt.Sprint(time.Now().Unix()),
		"type": "text", "text": map[string]string{"body": text}}
	value := map[string]any{
		"messaging_product": "whatsapp",
		"metadata":          map[string]string{"display_phone_number": phoneNumberID, "phone_number_id": phoneNumberID},
		"contacts":          []any{map[string]any{"profile": map[string]string{"name": name}, "wa_id": from}},
		"messages":          []any{msg},
	}
	body, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{
		map[string]any{"id": "0", "changes": []any{map[string]any{"field": "messages", "value": value}}},
	}})
	s.do(t, http.MethodPost, "/webhooks/whatsapp", "application/json", body,
		http.Header{"X-Hub-Signature-256": {whatsapp.Sign(s.secret, body)}})
}

// chromePath finds Chromium: CHROME_PATH, else the usual names on PATH.
func chromePath() string {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// act runs the steps in the page, each batch with its own deadline.
func act(t *testing.T, ctx context.Context, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	require.NoError(t, chromedp.Do(tctx, steps...))
}

// get runs one action that returns a value.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	require.NoError(t, err)
	return v
}

// textOf is the visible text of the first element the query (CSS or XPath)
// finds.
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return get(t, ctx, chromedp.Text(sel))
}

func attrOf(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	return get(t, ctx, chromedp.AttributeValue(sel, name)).Value
}

// blockWebSockets makes the page's new websockets to the server fail, or
// lets them through again.
func blockWebSockets(srv *demoServer, block bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		var patterns []*network.BlockPattern
		if block {
			patterns = []*network.BlockPattern{{URLPattern: "ws://" + srv.addr + "/*", Block: true}}
		}
		_, err := cdp.Call(ctx, tg, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: patterns})
		return err
	})
}

// closeWebSockets closes every websocket of the page, found in its heap as
// the DevTools console's queryObjects does. (Emulating offline does not
// touch open sockets.)
func closeWebSockets() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		proto, err := chromedp.Evaluate[*runtime.RemoteObject](`WebSocket.prototype`)(ctx, tg)
		if err != nil {
			return err
		}
		sockets, err := cdp.Call(ctx, tg, runtime.QueryObjects, runtime.QueryObjectsParams{PrototypeObjectID: proto.ObjectID})
		if err != nil {
			return err
		}
		_, err = cdp.Call(ctx, tg, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
			FunctionDeclaration: `function() { this.forEach(ws => ws.close(3000, 'the test cuts the network')); }`,
			ObjectID:            sockets.Objects.ObjectID,
		})
		return err
	})
}

// waitCount waits until at least n elements match the CSS selector.
func waitCount(sel string, n int) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			count, err := chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))(ctx, tg)
			if err != nil {
				return err
			}
			if count >= n {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %d × %s, have %d: %w", n, sel, count, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// screenshots returns a function that saves a PNG of the page.
func screenshots(t *testing.T, ctx context.Context, prefix string) func(name string) {
	return func(name string) {
		t.Helper()
		png := get(t, ctx, chromedp.CaptureScreenshot())
		path := filepath.Join(*artifacts, prefix+"-"+name+".png")
		require.NoError(t, os.WriteFile(path, png, 0o644))
	}
}

// networkLog records the page's requests and what their responses weighed
// on the wire.
type networkLog struct {
	mu      sync.Mutex
	url     map[network.RequestID]string
	kind    map[network.RequestID]network.ResourceType
	encoded map[network.RequestID]int64
	sockets []string
}

func watchNetwork(t *testing.T, ctx context.Context) *networkLog {
	l := &networkLog{url: map[network.RequestID]string{}, kind: map[network.RequestID]network.ResourceType{}, encoded: map[network.RequestID]int64{}}
	// The browser starts here, with the test's context: a deadline on its
	// first action would end it.
	require.NoError(t, chromedp.Do(ctx))
	_, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
	require.NoError(t, err)
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		l.mu.Lock()
		defer l.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			l.url[ev.RequestID] = ev.Request.URL
			l.kind[ev.RequestID] = ev.Type
		case *network.EventLoadingFinished:
			l.encoded[ev.RequestID] = int64(ev.EncodedDataLength)
		case *network.EventWebSocketCreated:
			l.sockets = append(l.sockets, ev.URL)
		}
	}))
	return l
}

func (l *networkLog) urls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var us []string
	for _, u := range l.url {
		us = append(us, u)
	}
	return append(us, l.sockets...)
}

// requireOnly fails unless every request went to the server: its pages,
// assets, API and websocket. Inline data: URLs (GraphiQL's fonts) are no
// requests.
func (l *networkLog) requireOnly(t *testing.T, srv *demoServer) {
	t.Helper()
	for _, u := range l.urls() {
		if strings.HasPrefix(u, "data:") {
			continue
		}
		require.True(t, strings.HasPrefix(u, srv.base+"/") || strings.HasPrefix(u, "ws://"+srv.addr+"/"), "a request left the server: %.100s", u)
	}
}

// bytes is the sum of every finished response's size on the wire (headers
// included).
func (l *networkLog) bytes() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for _, b := range l.encoded {
		n += b
	}
	return n
}

// assetBytes is bytes for the page, its scripts and styles only.
func (l *networkLog) assetBytes() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for id, b := range l.encoded {
		switch l.kind[id] {
		case network.ResourceTypeDocument, network.ResourceTypeScript, network.ResourceTypeStylesheet:
			n += b
		}
	}
	return n
}

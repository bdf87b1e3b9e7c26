// The supervisor console: sign in, then watch the tenant live over
// graphql-transport-ws and reply on an agent's behalf. Plain ES modules, no
// build step: Preact and htm are vendored beside this file (vendor.sh), and
// graphql-ws's browser build defines window.graphqlWs.
import { h, render } from './preact-10.28.0.module.js';
import { useState, useEffect, useRef, useMemo } from './preact-hooks-10.28.0.module.js';
import htm from './htm-3.1.1.module.js';

const html = htm.bind(h);
const wsURL = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/graphql';

// ---------------------------------------------------------------- session

// Auth keeps the token pair in sessionStorage (the tab's life) and rotates
// it: a refresh token works once, so concurrent callers share one refresh.
class Auth {
  constructor(onChange) {
    this.onChange = onChange;
    this.session = JSON.parse(sessionStorage.getItem('switchboard.session') || 'null');
    this.refreshing = null;
  }

  get signedIn() { return this.session !== null; }

  save(pair) {
    this.session = pair && {
      accessToken: pair.accessToken,
      expiresAt: Date.parse(pair.accessTokenExpiresAt),
      refreshToken: pair.refreshToken,
    };
    if (this.session) sessionStorage.setItem('switchboard.session', JSON.stringify(this.session));
    else sessionStorage.removeItem('switchboard.session');
    this.onChange(this.signedIn);
  }

  async login(email, password, tenant) {
    const res = await post(null, `mutation($e: String!, $p: String!, $t: String) {
      login(email: $e, password: $p, tenant: $t) { accessToken accessTokenExpiresAt refreshToken } }`,
    { e: email, p: password, t: tenant || null });
    if (res.errors) throw new Error(res.errors[0].message);
    this.save(res.data.login);
  }

  // token returns an access token valid for at least another 30 s.
  async token() {
    if (!this.session) throw new Error('signed out');
    if (this.session.expiresAt - Date.now() < 30000) await this.refresh();
    return this.session.accessToken;
  }

  refresh() {
    if (!this.refreshing) {
      const refreshToken = this.session && this.session.refreshToken;
      this.refreshing = post(null, `mutation($r: String!) {
        refresh(refreshToken: $r) { accessToken accessTokenExpiresAt refreshToken } }`, { r: refreshToken })
        .then(res => {
          if (res.errors) { this.save(null); throw new Error('your session has ended: sign in again'); }
          this.save(res.data.refresh);
        })
        .finally(() => { this.refreshing = null; });
    }
    return this.refreshing;
  }

  async signOut() {
    const s = this.session;
    this.save(null);
    if (s) await post(s.accessToken, 'mutation($r: String) { logout(refreshToken: $r) }', { r: s.refreshToken }).catch(() => {});
  }
}

async function post(token, query, variables) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  const res = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return res.json();
}

const code = (res, c) => (res.errors || []).some(e => e.extensions && e.extensions.code === c);

// gql runs a query or mutation as the signed-in agent, refreshing the token
// once if the server no longer takes it. Fields the role may not read come
// back null with FORBIDDEN errors: the rest of the answer is kept.
async function gql(auth, query, variables) {
  let res = await post(await auth.token(), query, variables);
  if (code(res, 'UNAUTHENTICATED')) {
    await auth.refresh();
    res = await post(await auth.token(), query, variables);
  }
  return res;
}

// ---------------------------------------------------------------- live

// Live holds one graphql-transport-ws connection and the subscriptions on
// it. graphql-ws reconnects on its own and subscribes again with each
// request object as it is then, so a subscription that keeps `after` up to
// date in its request resumes where it stopped. Close codes graphql-ws
// treats as final (4401, 4500) restart the whole client after a pause. A
// ping every 10 s that gets no pong within 5 s ends a socket that a sleeping
// laptop or a dead network left open.
class Live {
  constructor(auth, onState, onReconnect) {
    this.auth = auth;
    this.onState = onState;
    this.onReconnect = onReconnect;
    this.subs = new Set();
    this.failures = 0;
    this.start();
  }

  start() {
    let forceRefresh = false, pongTimer = null;
    const client = graphqlWs.createClient({
      url: wsURL,
      lazy: false,
      keepAlive: 10000,
      retryAttempts: Infinity,
      shouldRetry: () => true,
      retryWait: async n => new Promise(r => setTimeout(r, Math.min(250 * 2 ** n, 5000) + Math.random() * 250)),
      connectionParams: async () => {
        if (forceRefresh) { forceRefresh = false; await this.auth.refresh(); }
        return { Authorization: 'Bearer ' + await this.auth.token() };
      },
      onNonLazyError: () => { if (client === this.client) this.restart(); },
      on: {
        connecting: isRetry => this.onState(isRetry ? 'reconnecting' : 'connecting'),
        connected: (_socket, _payload, wasRetry) => {
          this.failures = 0;
          this.onState('live');
          if (wasRetry) this.onReconnect();
        },
        closed: ev => {
          clearTimeout(pongTimer);
          if (ev && (ev.code === 4401 || ev.code === 4403)) forceRefresh = true;
          if (!this.stopped) this.onState('reconnecting');
        },
        ping: received => {
          if (!received) pongTimer = setTimeout(() => client.terminate(), 5000);
        },
        pong: received => { if (received) clearTimeout(pongTimer); },
      },
    });
    this.client = client;
    for (const s of this.subs) this.attach(s);
  }

  restart() {
    if (this.stopped || this.restarting) return;
    this.restarting = true;
    this.onState('reconnecting');
    this.client.dispose();
    this.failures++;
    this.restartTimer = setTimeout(() => {
      this.restarting = false;
      if (!this.stopped && this.auth.signedIn) this.start();
    }, Math.min(500 * 2 ** this.failures, 10000));
  }

  attach(s) {
    const client = this.client;
    s.dispose = client.subscribe(s.request, {
      next: s.next,
      error: err => {
        // A final close event ends every subscription: restart the client.
        if (err && typeof err === 'object' && 'code' in err) { if (client === this.client) this.restart(); return; }
        s.next({ errors: Array.isArray(err) ? err : [err] });
      },
      complete: () => {},
    });
  }

  // subscribe starts a subscription; next gets every result. The request is
  // kept and may be changed (variables.after) to resume from there.
  subscribe(request, next) {
    const s = { request, next, dispose: null };
    this.subs.add(s);
    this.attach(s);
    return () => { this.subs.delete(s); if (s.dispose) s.dispose(); };
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.client.dispose();
  }
}

// ---------------------------------------------------------------- queries

const CONVERSATION = `id status unreadCount lastMessageAt
  number { id displayName }
  contact { id profileName phone }
  assignee { id name employeeCode }
  lastMessage { id direction body status }`;

const MESSAGE = `id direction kind body status errorText createdAt deletedAt
  sender { id name employeeCode }`;

const NUMBER = 'id displayName phone status quality messagingTier attention';
const AGENT = 'id name employeeCode presence maxConcurrent disabledAt';

const STATUSES = ['OPEN', 'PENDING', 'SNOOZED', 'RESOLVED'];

function conversationWhere(f) {
  const w = {};
  if (f.number) w.numberID = f.number;
  if (f.status === 'ACTIVE') w.statusNEQ = 'RESOLVED';
  else if (f.status) w.status = f.status;
  if (f.assignee === 'NONE') w.assigneeIDIsNil = true;
  else if (f.assignee) w.assigneeID = f.assignee;
  return w;
}

function matches(f, c) {
  if (f.number && c.number.id !== f.number) return false;
  if (f.status === 'ACTIVE' && c.status === 'RESOLVED') return false;
  if (f.status && f.status !== 'ACTIVE' && c.status !== f.status) return false;
  if (f.assignee === 'NONE' && c.assignee) return false;
  if (f.assignee && f.assignee !== 'NONE' && (!c.assignee || c.assignee.id !== f.assignee)) return false;
  return true;
}

const byLastMessage = (a, b) => (b.lastMessageAt || '').localeCompare(a.lastMessageAt || '');

function upsert(list, item, order) {
  const i = list.findIndex(x => x.id === item.id);
  const next = i < 0 ? [...list, item] : list.map(x => (x.id === item.id ? item : x));
  return order ? next.sort(order) : next;
}

const nodes = conn => ((conn && conn.edges) || []).map(e => e.node).filter(Boolean);

// ---------------------------------------------------------------- view helpers

const time = iso => (iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '');

function duration(seconds) {
  if (seconds == null) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min` + (s % 60 ? ` ${s % 60} s` : '');
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const agentLabel = a => (a ? a.name + (a.employeeCode ? ` #${a.employeeCode}` : '') : 'Unassigned');

const STATUS_TEXT = {
  CONNECTED: 'Online', CONNECTING: 'Connecting', DISCONNECTED: 'Offline', RESTRICTED: 'Restricted', BANNED: 'Banned',
};

// Ticks as WhatsApp shows them; the word is there for screen readers.
const TICKS = {
  QUEUED: ['🕓', 'Queued'], SENT: ['✓', 'Sent'], DELIVERED: ['✓✓', 'Delivered'], READ: ['✓✓', 'Read'], FAILED: ['!', 'Failed'],
};

// ---------------------------------------------------------------- components

function SignIn({ auth }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  async function submit(e) {
    e.preventDefault();
    const f = new FormData(e.target);
    setBusy(true);
    setError('');
    try {
      await auth.login(f.get('email'), f.get('password'), f.get('tenant'));
    } catch (err) {
      setError(err.message);
      setBusy(false);
    }
  }
  return html`
    <main class="signin">
      <form onSubmit=${submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Switchboard console</h1>
        <label>Email <input name="email" type="email" autocomplete="username" required autofocus /></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
        <label>Company <span class="hint">(only if your email works in several)</span>
          <input name="tenant" autocomplete="organization" /></label>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>`;
}

function ConnectionState({ state }) {
  const text = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…' }[state];
  return html`<span class=${'conn conn-' + state} role="status" data-state=${state}>${text}</span>`;
}

function Figures({ dash, waiting }) {
  if (!dash) return html`<p class="muted">Loading today's figures…</p>`;
  const item = (label, value, cls, sub) => html`
    <div class=${'figure ' + (cls || '')}><dt>${label}</dt><dd>${value}${sub && html`<span class="sub">${sub}</span>`}</dd></div>`;
  const offline = dash.numbersDisconnected + dash.numbersRestricted;
  const target = dash.firstResponseTargetSeconds;
  const answered = dash.firstResponsesToday, within = dash.firstResponsesWithinTarget;
  const mean = dash.averageFirstResponseSeconds;
  return html`
    <dl class="figures" data-testid="figures">
      ${item('Numbers online', dash.numbersConnected, 'good')}
      ${item('Numbers offline', offline, offline ? 'bad' : '')}
      ${item('Agents online', dash.agentsOnline, '', `${dash.agentsAway} away`)}
      ${item('Open conversations', dash.openConversations)}
      ${item('Unassigned', dash.unassignedConversations)}
      ${item('Waiting for a reply', dash.waitingConversations, '', waiting === undefined ? '' : `longest ${waiting == null ? '—' : duration(waiting)}`)}
      ${item(`First response today (target ${duration(target)})`, duration(mean),
        'first-response ' + (mean == null ? '' : answered > within ? 'bad' : 'good'),
        answered ? `${within} of ${answered} within target` : 'none yet')}
    </dl>`;
}

// Queue is the routing queue: conversations nobody online could take yet,
// in the order they will be served, and how long the first has waited.
function Queue({ queue }) {
  // The wait grows between reads: tick once a second.
  const [, tick] = useState(0);
  useEffect(() => { const every = setInterval(() => tick(n => n + 1), 1000); return () => clearInterval(every); }, []);
  const wait = queue && queue.longestWaitSeconds + (Date.now() - queue.readAt) / 1000;
  return html`
    <section class="panel queue" aria-labelledby="queue-title">
      <h2 id="queue-title">Queue</h2>
      ${!queue ? html`<p class="muted">Loading the queue…</p>` : html`
        <p class="queue-figures"><strong class="queue-length">${queue.length}</strong> waiting for an agent${queue.length > 0
          ? html` · longest wait <strong class="queue-wait">${duration(wait)}</strong>` : ''}</p>
        <ol class="queued">
          ${queue.conversations.map(c => html`
            <li key=${c.id} class="queued-conversation">${(c.contact && (c.contact.profileName || c.contact.phone)) || 'Customer'}
              <span class="meta"> · ${c.number.displayName}${c.priority && c.priority !== 'NORMAL' ? ' · ' + c.priority.toLowerCase() : ''}</span></li>`)}
        </ol>`}
    </section>`;
}

function Numbers({ numbers, volumes }) {
  return html`
    <section class="panel" aria-labelledby="numbers-title">
      <h2 id="numbers-title">Numbers</h2>
      <ul class="numbers">
        ${numbers.map(n => html`
          <li key=${n.id} class=${'number status-' + n.status} data-id=${n.id} data-status=${n.status}>
            <span class="name">${n.displayName}</span>
            <span class="badge">${STATUS_TEXT[n.status] || n.status}</span>
            <span class="meta">${n.phone} · quality ${n.quality.toLowerCase()}${n.messagingTier ? ' · ' + n.messagingTier.replace('TIER_', 'tier ') : ''}</span>
            ${volumes && volumes[n.id] && html`<span class="meta volume">Today ${volumes[n.id].inbound} in · ${volumes[n.id].outbound} out</span>`}
            ${n.attention && html`<span class="meta warn">Needs attention: ${n.attention}</span>`}
          </li>`)}
      </ul>
    </section>`;
}

function Agents({ agents, load }) {
  return html`
    <section class="panel" aria-labelledby="agents-title">
      <h2 id="agents-title">Agents</h2>
      <ul class="agents">
        ${agents.map(a => {
          const l = load && load[a.id];
          const open = l ? l.openConversations : null;
          const cap = l ? l.capacity : a.maxConcurrent;
          return html`
            <li key=${a.id} class=${'agent presence-' + a.presence} data-id=${a.id} data-presence=${a.presence}>
              <span class="dot" aria-hidden="true"></span>
              <span class="name">${agentLabel(a)}</span>
              <span class="presence">${a.presence.toLowerCase()}</span>
              ${open !== null && html`
                <span class="load">
                  <meter min="0" max=${cap} value=${open} aria-label=${`Load of ${a.name}`}></meter>
                  ${open}/${cap}
                </span>`}
            </li>`;
        })}
      </ul>
    </section>`;
}

function Filters({ filter, setFilter, numbers, agents }) {
  const set = key => e => setFilter({ ...filter, [key]: e.target.value });
  return html`
    <div class="filters" role="group" aria-label="Filter conversations">
      <label>Number
        <select name="number" value=${filter.number} onChange=${set('number')}>
          <option value="">All numbers</option>
          ${numbers.map(n => html`<option value=${n.id}>${n.displayName}</option>`)}
        </select></label>
      <label>Status
        <select name="status" value=${filter.status} onChange=${set('status')}>
          <option value="ACTIVE">Not resolved</option>
          <option value="">Any status</option>
          ${STATUSES.map(s => html`<option value=${s}>${s.toLowerCase()}</option>`)}
        </select></label>
      <label>Assignee
        <select name="assignee" value=${filter.assignee} onChange=${set('assignee')}>
          <option value="">Anyone</option>
          <option value="NONE">Unassigned</option>
          ${agents.map(a => html`<option value=${a.id}>${agentLabel(a)}</option>`)}
        </select></label>
    </div>`;
}

function Conversations({ conversations, selected, select }) {
  if (!conversations) return html`<p class="muted">Loading conversations…</p>`;
  if (!conversations.length) return html`<p class="muted">No conversation matches.</p>`;
  return html`
    <ul class="conversations">
      ${conversations.map(c => {
        const last = c.lastMessage;
        return html`
          <li key=${c.id}>
            <button type="button" class=${'conversation status-' + c.status} data-id=${c.id}
              data-number=${c.number.id} data-status=${c.status} data-assignee=${c.assignee ? c.assignee.id : ''}
              aria-current=${c.id === selected ? 'true' : undefined} onClick=${() => select(c.id)}>
              <span class="who">${(c.contact && (c.contact.profileName || c.contact.phone)) || 'Customer'}</span>
              <span class="when">${time(c.lastMessageAt)}</span>
              <span class="preview">${last ? (last.direction === 'OUTBOUND' ? 'You: ' : '') + (last.body ?? '…') : ''}</span>
              <span class="meta">${c.number.displayName} · ${c.status.toLowerCase()} · ${agentLabel(c.assignee)}
                ${c.unreadCount > 0 && html` · <strong>${c.unreadCount} unread</strong>`}</span>
            </button>
          </li>`;
      })}
    </ul>`;
}

function Ticks({ m }) {
  if (m.direction !== 'OUTBOUND') return null;
  const [mark, word] = TICKS[m.status] || ['', m.status];
  return html`<span class=${'ticks ticks-' + m.status} title=${m.errorText || word} aria-label=${word}>${mark}</span>`;
}

function Thread({ auth, conversation, messages, canReply, onSent, back }) {
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const list = useRef(null);
  useEffect(() => { if (list.current) list.current.scrollTop = list.current.scrollHeight; }, [messages]);
  useEffect(() => { setError(''); setText(''); }, [conversation && conversation.id]);

  if (!conversation) return html`<p class="muted placeholder">Choose a conversation to read it.</p>`;

  async function send(e) {
    e.preventDefault();
    if (!text.trim()) return;
    setBusy(true);
    setError('');
    const res = await gql(auth, `mutation($c: ID!, $b: String!) { sendText(conversationID: $c, body: $b) { ${MESSAGE} } }`,
      { c: conversation.id, b: text });
    setBusy(false);
    if (res.errors) {
      setError(code(res, 'OUTSIDE_CUSTOMER_WINDOW')
        ? 'The customer last wrote more than 24 hours ago: only a template can be sent.'
        : res.errors[0].message);
      return;
    }
    setText('');
    onSent(res.data.sendText);
  }
  const keydown = e => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) send(e); };
  const c = conversation;
  return html`
    <div class="thread-head">
      <button type="button" class="back" onClick=${back}>← Conversations</button>
      <h2 id="thread-title">${(c.contact && (c.contact.profileName || c.contact.phone)) || 'Customer'}</h2>
      <p class="meta">${c.contact && c.contact.phone} · ${c.number.displayName} · ${c.status.toLowerCase()} · ${agentLabel(c.assignee)}</p>
    </div>
    <ol class="messages" ref=${list} aria-live="polite" aria-labelledby="thread-title" tabindex="0">
      ${messages == null && html`<li class="muted">Loading messages…</li>`}
      ${(messages || []).map(m => html`
        <li key=${m.id} class=${'message ' + m.direction.toLowerCase() + (m.deletedAt ? ' deleted' : '')}
            data-id=${m.id} data-status=${m.status}>
          <p class="body">${m.deletedAt && m.body == null ? 'This message was deleted.' : (m.body ?? `[${m.kind.toLowerCase()}]`)}</p>
          <p class="meta">${m.direction === 'OUTBOUND' && m.sender ? agentLabel(m.sender) + ' · ' : ''}${time(m.createdAt)}
            <${Ticks} m=${m} />${m.status === 'FAILED' && m.errorText ? ' ' + m.errorText : ''}</p>
        </li>`)}
    </ol>
    ${canReply && html`
      <form class="reply" onSubmit=${send}>
        <label for="reply-text">Reply on the agent's behalf</label>
        <textarea id="reply-text" rows="2" value=${text} onInput=${e => setText(e.target.value)} onKeyDown=${keydown}
          placeholder="Write a reply (Ctrl+Enter sends)"></textarea>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button type="submit" disabled=${busy || !text.trim()}>${busy ? 'Sending…' : 'Send'}</button>
      </form>`}`;
}

// Console is the signed-in page.
function Console({ auth }) {
  const [conn, setConn] = useState('connecting');
  const [me, setMe] = useState(null);
  const [numbers, setNumbers] = useState([]);
  const [agents, setAgents] = useState([]);
  const [dash, setDash] = useState(null);
  const [waiting, setWaiting] = useState(undefined);
  const [queue, setQueue] = useState(null);
  const [filter, setFilter] = useState({ number: '', status: 'ACTIVE', assignee: '' });
  const [conversations, setConversations] = useState(null);
  const [selected, setSelected] = useState(null);
  const [messages, setMessages] = useState(null);
  const [reconnects, setReconnects] = useState(0);
  const [live, setLive] = useState(null);

  const can = p => !!me && me.permissions.includes(p);

  // Who is signed in, and what they may do.
  useEffect(() => {
    gql(auth, `{ viewer { roles permissions tenant { name } agent { id name employeeCode } } }`)
      .then(res => res.data && setMe(res.data.viewer));
  }, []);

  useEffect(() => {
    const l = new Live(auth, setConn, () => setReconnects(n => n + 1));
    setLive(l);
    return () => l.stop();
  }, []);

  // Numbers and agents: loaded, then kept current by their subscriptions;
  // loaded again after a reconnect, since these subscriptions do not resume.
  useEffect(() => {
    if (!me || !live) return;
    const offs = [];
    if (can('number.view')) {
      offs.push(live.subscribe({ query: `subscription { numberStatusChanged { number { ${NUMBER} } } }` }, r => {
        const n = r.data && r.data.numberStatusChanged.number;
        if (n) setNumbers(list => upsert(list, n));
      }));
      gql(auth, `{ numbers(first: 100) { edges { node { ${NUMBER} } } } }`)
        .then(res => res.data && setNumbers(nodes(res.data.numbers)));
    }
    if (can('agent.view')) {
      offs.push(live.subscribe({ query: `subscription { agentPresenceChanged { agent { ${AGENT} } } }` }, r => {
        const a = r.data && r.data.agentPresenceChanged.agent;
        if (a) setAgents(list => upsert(list, a).filter(x => !x.disabledAt));
      }));
      gql(auth, `{ agents(first: 100, where: {disabledAtIsNil: true}) { edges { node { ${AGENT} } } } }`)
        .then(res => res.data && setAgents(nodes(res.data.agents)));
    }
    if (can('report.view_own')) {
      const load = can('report.view_all') ? 'agentLoad { agent { id } openConversations capacity }' : '';
      offs.push(live.subscribe({
        query: `subscription { dashboard { at numbersConnected numbersDisconnected numbersRestricted agentsOnline
          agentsAway agentsOffline openConversations unassignedConversations waitingConversations
          averageFirstResponseSeconds firstResponseTargetSeconds firstResponsesToday firstResponsesWithinTarget
          volumesToday { number { id displayName } inbound outbound } ${load} } }`,
      }, r => r.data && setDash(r.data.dashboard)));
    }
    return () => offs.forEach(off => off());
  }, [me, live, reconnects]);

  // The longest wait: the open conversation whose customer has waited for a
  // reply the longest, asked again when the count of waiting ones moves.
  const waitingCount = dash && dash.waitingConversations;
  useEffect(() => {
    if (!me || !can('conversation.read.assigned') && !can('conversation.read.number') && !can('conversation.read.all')) return;
    gql(auth, `{ conversations(first: 1, orderBy: {field: LAST_MESSAGE_AT, direction: ASC},
        where: {status: OPEN, hasLastMessageWith: [{direction: INBOUND}]}) { edges { node { lastMessageAt } } } }`)
      .then(res => {
        const n = res.data && nodes(res.data.conversations)[0];
        setWaiting(n && n.lastMessageAt ? (Date.now() - Date.parse(n.lastMessageAt)) / 1000 : null);
      });
  }, [me, waitingCount]);

  // The routing queue: read again (at most every half second) when a
  // conversation is created, queued, assigned or changes status, and every
  // 15 s for the waits.
  const readsConversations = me && (can('conversation.read.assigned') || can('conversation.read.number') || can('conversation.read.all'));
  useEffect(() => {
    if (!readsConversations || !live) return;
    let timer = null, stale = false;
    const read = () => {
      timer = null;
      gql(auth, `{ routingQueue(first: 10) { length longestWaitSeconds
          conversations { id priority contact { id profileName phone } number { id displayName } } } }`)
        .then(res => { if (!stale && res.data) setQueue({ ...res.data.routingQueue, readAt: Date.now() }); });
    };
    const soon = () => { if (!timer) timer = setTimeout(read, 500); };
    const off = live.subscribe({ query: 'subscription { conversationEvents(filter: {kinds: [CREATED, QUEUED, ASSIGNED, TRANSFERRED, STATUS_CHANGED]}) { seq } }' }, soon);
    const every = setInterval(read, 15000);
    read();
    return () => { stale = true; off(); clearInterval(every); clearTimeout(timer); };
  }, [me, live, reconnects]);

  // The conversation list: events resume from the last sequence seen; a
  // RESYNC (the replay window no longer holds it) loads the list again.
  useEffect(() => {
    if (!me || !live) return;
    let stale = false;
    const load = () => gql(auth, `query($w: ConversationWhereInput) {
        conversations(first: 50, orderBy: {field: LAST_MESSAGE_AT, direction: DESC}, where: $w) { edges { node { ${CONVERSATION} } } } }`,
    { w: conversationWhere(filter) }).then(res => { if (!stale && res.data) setConversations(nodes(res.data.conversations)); });
    const request = { query: `subscription($after: Int) { conversationEvents(after: $after) { seq kind conversation { ${CONVERSATION} } } }`, variables: {} };
    const off = live.subscribe(request, r => {
      const ev = r.data && r.data.conversationEvents;
      if (!ev) return;
      request.variables.after = ev.seq;
      if (ev.kind === 'RESYNC') { load(); return; }
      const c = ev.conversation;
      if (!c) return;
      setConversations(list => {
        if (!list) return list;
        return matches(filter, c) ? upsert(list, c, byLastMessage) : list.filter(x => x.id !== c.id);
      });
    });
    load();
    return () => { stale = true; off(); };
  }, [me, live, filter]);

  // The open conversation's messages, the same way.
  useEffect(() => {
    setMessages(null);
    if (!selected || !live) return;
    let stale = false;
    const load = () => gql(auth, `query($id: ID!) { node(id: $id) { ... on Conversation {
        messages(last: 50) { edges { node { ${MESSAGE} } } } } } }`, { id: selected })
      .then(res => { if (!stale && res.data && res.data.node) setMessages(nodes(res.data.node.messages)); });
    const request = { query: `subscription($c: ID!, $after: Int) { messageEvents(conversationID: $c, after: $after) { seq kind message { ${MESSAGE} } } }`, variables: { c: selected } };
    const off = live.subscribe(request, r => {
      const ev = r.data && r.data.messageEvents;
      if (!ev) return;
      request.variables.after = ev.seq;
      if (ev.kind === 'RESYNC') { load(); return; }
      if (ev.message) setMessages(list => (list ? upsert(list, ev.message) : list));
    });
    load();
    if (can('conversation.reply')) gql(auth, 'mutation($id: ID!) { markConversationRead(id: $id) { id } }', { id: selected });
    return () => { stale = true; off(); };
  }, [selected, live]);

  const load = useMemo(() => {
    if (!dash || !dash.agentLoad) return null;
    return Object.fromEntries(dash.agentLoad.map(l => [l.agent.id, l]));
  }, [dash]);
  const volumes = useMemo(() => dash && dash.volumesToday && Object.fromEntries(dash.volumesToday.map(v => [v.number.id, v])), [dash]);
  const open = conversations && conversations.find(c => c.id === selected);

  return html`
    <header class="bar">
      <h1>Switchboard <span class="tenant">${me && me.tenant.name}</span></h1>
      <${ConnectionState} state=${conn} />
      <span class="who">${me && me.agent ? agentLabel(me.agent) : ''}${me ? ` (${me.roles.join(', ')})` : ''}</span>
      <button type="button" onClick=${() => auth.signOut()}>Sign out</button>
    </header>
    ${conn === 'reconnecting' && html`<p class="banner" role="alert">Connection lost: reconnecting… The page catches up once it is back.</p>`}
    <main class=${'layout' + (selected ? ' reading' : '')}>
      ${can('report.view_own') && html`<section class="panel today" aria-label="Today"><${Figures} dash=${dash} waiting=${waiting} /></section>`}
      <div class="side">
        ${readsConversations && html`<${Queue} queue=${queue} />`}
        ${can('number.view') && html`<${Numbers} numbers=${numbers} volumes=${volumes} />`}
        ${can('agent.view') && html`<${Agents} agents=${agents} load=${load} />`}
      </div>
      <section class="panel list" aria-labelledby="conversations-title">
        <h2 id="conversations-title">Conversations</h2>
        <${Filters} filter=${filter} setFilter=${setFilter} numbers=${numbers} agents=${agents} />
        <${Conversations} conversations=${conversations} selected=${selected} select=${setSelected} />
      </section>
      <section class="panel thread" aria-label="Conversation">
        <${Thread} auth=${auth} conversation=${open} messages=${messages} canReply=${can('conversation.reply')}
          onSent=${m => setMessages(list => (list ? upsert(list, m) : [m]))} back=${() => setSelected(null)} />
      </section>
    </main>`;
}

function App() {
  const [signedIn, setSignedIn] = useState(false);
  const auth = useMemo(() => new Auth(setSignedIn), []);
  useEffect(() => setSignedIn(auth.signedIn), []);
  return signedIn ? html`<${Console} auth=${auth} />` : html`<${SignIn} auth=${auth} />`;
}

const root = document.getElementById('app');
root.textContent = ''; // the "Loading" line: Preact would keep it
render(html`<${App} />`, root);

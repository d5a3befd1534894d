// floe's dashboard: Flink's hash routes over the REST API, the job graph and task actors live over /live.
import { ActorView, stateText } from './actor-view.js';
import { JobGraphView } from './job-graph-view.js';

const app = document.getElementById('app');
const liveBadge = document.getElementById('live');
const tokenInput = document.getElementById('token');
tokenInput.value = sessionStorage.getItem('floe.token') ?? '';
tokenInput.addEventListener('change', () => {
  sessionStorage.setItem('floe.token', tokenInput.value);
  live.reconnect();
});

const TERMINAL = new Set(['FINISHED', 'FAILED', 'CANCELED']);
/** Rows of one page of the checkpoint history: the server builds and sends only those, the page stays quick with a thousand checkpoints kept. */
const HISTORY_ROWS = 100;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

const time = (ms) => (ms > 0 ? new Date(ms).toLocaleTimeString() : '-');
const duration = (ms) =>
  typeof ms === 'number' && ms >= 0
    ? ms < 10
      ? `${ms.toFixed(ms < 1 ? 2 : 1)} ms`
      : ms < 1000
        ? `${Math.round(ms)} ms`
        : `${(ms / 1000).toFixed(1)} s`
    : '-';
const bytes = (n) =>
  typeof n !== 'number' ? '-' : n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;

/** REST calls as the CLI makes them: the token, when one is set, on every request (mutating ones need it off loopback). */
async function rest(method, path, body) {
  const headers = {};
  const token = sessionStorage.getItem('floe.token');
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (!res.ok)
    throw Object.assign(new Error(json.errors?.join('; ') ?? `${res.status} ${res.statusText}`), { status: res.status, hint: json.hint });
  return json;
}

function table(headers, rows, attrs = {}) {
  return el('table', attrs, el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', {}, h)))), el('tbody', {}, ...rows));
}

function keyValues(object, attrs = {}) {
  const rows = Object.entries(object ?? {}).map(([k, v]) =>
    el('tr', {}, el('th', {}, k), el('td', {}, el('code', {}, typeof v === 'object' ? JSON.stringify(v) : String(v)))),
  );
  return table(['key', 'value'], rows, attrs);
}

// ---- the live feed ----

const live = {
  ws: null,
  jobs: new Map(),
  listeners: new Set(),
  connect() {
    const token = sessionStorage.getItem('floe.token');
    const ws = new WebSocket(
      `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/live${token ? `?token=${encodeURIComponent(token)}` : ''}`,
    );
    this.ws = ws;
    ws.onopen = () => (liveBadge.textContent = 'live');
    ws.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type !== 'floe.live') return;
      for (const job of data.jobs) this.jobs.set(job.jid, job);
      for (const listener of this.listeners) listener();
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      liveBadge.textContent = 'offline (retrying; off loopback it needs the REST token)';
      setTimeout(() => this.ws === ws && this.connect(), 2000);
    };
  },
  reconnect() {
    const old = this.ws;
    this.ws = null;
    old?.close();
    this.connect();
  },
};
live.connect();

// ---- routes ----

let cleanup = () => {};
/** savepoints this page triggered, per job: what the checkpoints view lists with their paths */
const savepoints = new Map();

function route() {
  cleanup();
  cleanup = () => {};
  const hash = location.hash || '#/overview';
  const job = /^#\/job\/(running|completed)\/([^/]+)\/?(\w+)?/.exec(hash);
  if (job) return jobPage(job[2], job[3] ?? 'overview', job[1]);
  return overviewPage();
}
window.addEventListener('hashchange', route);

/** Runs `draw` now and every second until the route changes. */
function every(draw, ms = 1000) {
  let stopped = false;
  const loop = async () => {
    if (stopped) return;
    try {
      await draw();
    } catch (error) {
      showError(error);
    }
    if (!stopped) timer = setTimeout(loop, ms);
  };
  let timer = setTimeout(loop, 0);
  const previous = cleanup;
  cleanup = () => {
    previous();
    stopped = true;
    clearTimeout(timer);
  };
}

function showError(error) {
  const box = document.getElementById('message');
  if (box)
    box.replaceChildren(el('div', { class: 'message error', 'data-testid': 'error' }, error.message, error.hint ? ` (${error.hint})` : ''));
}

function overviewPage() {
  const body = el('div', { 'data-testid': 'jobs' });
  app.replaceChildren(el('h2', {}, 'Jobs'), el('div', { id: 'message' }), body);
  every(async () => {
    const { jobs } = await rest('GET', '/jobs/overview');
    const rows = jobs.map((j) => {
      const id = j.jid ?? j.id;
      const kind = TERMINAL.has(j.state) ? 'completed' : 'running';
      return el(
        'tr',
        { 'data-job': id },
        el('td', {}, el('a', { href: `#/job/${kind}/${id}/overview` }, j.name)),
        el('td', {}, j.state),
        el('td', {}, time(j['start-time'])),
        el('td', {}, duration(j.duration)),
        el('td', {}, el('code', {}, id)),
      );
    });
    body.replaceChildren(
      el('h3', {}, 'Running jobs'),
      table(
        ['name', 'status', 'start', 'duration', 'id'],
        rows.filter((_, i) => !TERMINAL.has(jobs[i].state)),
      ),
      el('h3', {}, 'Finished jobs'),
      table(
        ['name', 'status', 'start', 'duration', 'id'],
        rows.filter((_, i) => TERMINAL.has(jobs[i].state)),
      ),
    );
  });
}

function jobPage(id, tab, kind) {
  const tabs = ['overview', 'checkpoints', 'exceptions', 'configuration'];
  const title = el('h2', { 'data-testid': 'job-title' }, id);
  const message = el('div', { id: 'message' });
  const content = el('div', { class: 'tab-content' });
  const actions = el(
    'div',
    { class: 'actions' },
    el('input', { id: 'target', placeholder: 'target directory (default: state.savepoints.dir)', size: 40 }),
    el('button', { 'data-testid': 'trigger-savepoint', onclick: () => savepoint(id, 'savepoint') }, 'Trigger savepoint'),
    el('button', { 'data-testid': 'stop-with-savepoint', onclick: () => savepoint(id, 'stop') }, 'Stop with savepoint'),
    el('button', { 'data-testid': 'cancel-job', onclick: () => cancelJob(id) }, 'Cancel'),
  );
  app.replaceChildren(
    title,
    actions,
    message,
    el(
      'nav',
      { class: 'tabs' },
      ...tabs.map((t) =>
        el('a', { href: `#/job/${kind}/${id}/${t}`, class: t === tab ? 'active' : undefined }, t[0].toUpperCase() + t.slice(1)),
      ),
    ),
    content,
  );
  every(async () => {
    const details = await rest('GET', `/jobs/${id}`);
    title.textContent = `${details.name} — ${details.state ?? details.status}`;
  }, 2000);
  ({ overview: overviewTab, checkpoints: checkpointsTab, exceptions: exceptionsTab, configuration: configurationTab })[tab]?.(id, content);
}

async function savepoint(id, how) {
  const message = document.getElementById('message');
  const target = document.getElementById('target').value.trim();
  try {
    const body = target ? (how === 'stop' ? { targetDirectory: target } : { 'target-directory': target }) : {};
    const { 'request-id': trigger } = await rest('POST', `/jobs/${id}/${how === 'stop' ? 'stop' : 'savepoints'}`, body);
    message.replaceChildren(el('div', { class: 'message' }, how === 'stop' ? 'stopping with a savepoint…' : 'savepoint in progress…'));
    let state;
    do {
      await new Promise((r) => setTimeout(r, 300));
      state = await rest('GET', `/jobs/${id}/savepoints/${trigger}`);
    } while (state.status.id === 'IN_PROGRESS');
    const failure = state.operation?.['failure-cause'];
    if (failure) throw Object.assign(new Error(failure.message ?? 'the savepoint failed'), { hint: failure.hint });
    const path = state.operation.location;
    if (!savepoints.has(id)) savepoints.set(id, []);
    savepoints.get(id).push({ path, at: Date.now(), how });
    message.replaceChildren(el('div', { class: 'message', 'data-testid': 'savepoint-done' }, `savepoint completed: ${path}`));
    window.dispatchEvent(new Event('floe-savepoint'));
  } catch (error) {
    showError(error);
  }
}

async function cancelJob(id) {
  try {
    await rest('PATCH', `/jobs/${id}?mode=cancel`);
    document.getElementById('message').replaceChildren(el('div', { class: 'message' }, 'cancel requested'));
  } catch (error) {
    showError(error);
  }
}

// ---- tabs ----

function overviewTab(id, content) {
  const graph = el('div', { class: 'graph' });
  const subtasks = el('div', { 'data-testid': 'subtasks' });
  const actorsRoot = el('div', { class: 'inspector' });
  content.replaceChildren(
    el(
      'p',
      { class: 'legend' },
      el('span', { class: 'idle' }, 'idle'),
      el('span', { class: 'busy' }, 'busy'),
      el('span', { class: 'backpressured' }, 'backpressured'),
    ),
    graph,
    el('h3', {}, 'Subtasks'),
    subtasks,
    el('h3', {}, 'Task actors'),
    actorsRoot,
  );
  const graphView = new JobGraphView(graph);
  const actors = new ActorView(actorsRoot, { events: false });
  const draw = () => {
    const job = live.jobs.get(id);
    if (!job) return;
    graphView.update(job.vertices);
    actors.add({
      type: '@xstate.actor',
      sessionId: job.jid,
      name: job.name,
      snapshot: { value: job.status, status: 'active', context: { jid: job.jid } },
    });
    const rows = [];
    for (const v of job.vertices) {
      actors.add({
        type: '@xstate.actor',
        sessionId: v.id,
        parentId: job.jid,
        name: v.name,
        snapshot: { value: v.uids.join(', '), status: 'active', context: { uids: v.uids, parallelism: v.parallelism } },
      });
      for (const s of v.subtasks) {
        const state = stateText(s.state);
        actors.add({
          type: '@xstate.actor',
          sessionId: `${v.id}#${s.index}`,
          parentId: v.id,
          name: s.name,
          snapshot: {
            value: s.state,
            status: s.status,
            context: {
              load: s.load,
              busyTimeMsPerSecond: s.busy,
              backPressuredTimeMsPerSecond: s.backPressured,
              idleTimeMsPerSecond: s.idle,
              recordsIn: s.recordsIn,
              recordsOut: s.recordsOut,
            },
          },
        });
        const n = (x) => String(x);
        // a subtask in a TaskManager: its state and metrics relayed by it; the row says where it runs
        rows.push(
          el(
            'tr',
            { 'data-subtask': s.name, class: s.load, title: s.taskManager ? `in TaskManager ${s.taskManager}` : undefined },
            el('td', {}, s.name),
            el('td', {}, el('code', { 'data-testid': 'task-state' }, state)),
            el('td', { 'data-testid': 'task-load' }, s.load),
            el('td', {}, n(s.busy)),
            el('td', {}, n(s.backPressured)),
            el('td', {}, n(s.idle)),
            el('td', {}, n(s.recordsIn)),
            el('td', { 'data-testid': 'records-out' }, n(s.recordsOut)),
          ),
        );
      }
    }
    subtasks.replaceChildren(
      table(['subtask', 'task actor state', 'load', 'busy ms/s', 'backpressured ms/s', 'idle ms/s', 'records in', 'records out'], rows),
    );
  };
  live.listeners.add(draw);
  draw();
  const previous = cleanup;
  cleanup = () => (previous(), live.listeners.delete(draw));
}

/** Flink's checkpoint statistics and floe's earlier shape both read: counts, history, per-subtask details. */
function checkpointsTab(id, content) {
  const counts = el('div');
  const saved = el('div');
  const history = el('div');
  const detail = el('div', { 'data-testid': 'checkpoint-detail' });
  // pages of the history, newest first: every kept checkpoint (web.checkpoints.history) is reachable
  let offset = 0;
  let kept = 0;
  const range = el('span', { 'data-testid': 'history-range' });
  const newer = el(
    'button',
    { 'data-testid': 'history-newer', onclick: () => ((offset = Math.max(0, offset - HISTORY_ROWS)), refresh()) },
    'Newer',
  );
  const older = el('button', { 'data-testid': 'history-older', onclick: () => ((offset += HISTORY_ROWS), refresh()) }, 'Older');
  const pager = el('div', { class: 'actions' }, newer, range, older);
  content.replaceChildren(
    el('h3', {}, 'Counts'),
    counts,
    el('h3', {}, 'Savepoints'),
    saved,
    el('h3', {}, 'History'),
    pager,
    history,
    detail,
  );
  const drawSaved = (fromHistory) => {
    const mine = savepoints.get(id) ?? [];
    const rows = mine.map((s) =>
      el(
        'tr',
        { 'data-testid': 'savepoint-row' },
        el('td', {}, time(s.at)),
        el('td', {}, s.how === 'stop' ? 'stop with savepoint' : 'savepoint'),
        el('td', {}, el('code', { 'data-testid': 'savepoint-path' }, s.path)),
      ),
    );
    // savepoints the REST API lists (taken by the CLI or another page): their external_path
    const shown = new Set(mine.map((s) => s.path));
    for (const c of fromHistory) {
      if (!c.external_path || shown.has(c.external_path)) continue;
      shown.add(c.external_path);
      rows.push(
        el(
          'tr',
          { 'data-testid': 'savepoint-row' },
          el('td', {}, time(c.trigger_timestamp)),
          el('td', {}, `savepoint ${c.id}`),
          el('td', {}, el('code', { 'data-testid': 'savepoint-path' }, c.external_path)),
        ),
      );
    }
    saved.replaceChildren(
      rows.length ? table(['time', 'kind', 'path'], rows) : el('p', { class: 'hint' }, 'none yet: "Trigger savepoint" takes one'),
    );
  };
  let savedInHistory = [];
  const onSavepoint = () => drawSaved(savedInHistory);
  window.addEventListener('floe-savepoint', onSavepoint);
  const previous = cleanup;
  cleanup = () => (previous(), window.removeEventListener('floe-savepoint', onSavepoint));
  const draw = async () => {
    const stats = await rest('GET', `/jobs/${id}/checkpoints?history-offset=${offset}&history-limit=${HISTORY_ROWS}`);
    // a REST API that does not page (the whole history came back) is paged here
    const all = stats.history_kept === undefined;
    kept = stats.history_kept ?? stats.history?.length ?? 0;
    if (offset >= kept && offset > 0) offset = Math.max(0, Math.floor((kept - 1) / HISTORY_ROWS) * HISTORY_ROWS);
    counts.replaceChildren(keyValues(stats.counts, { 'data-testid': 'checkpoint-counts' }));
    savedInHistory = [stats.latest?.savepoint, ...(stats.history ?? [])].filter((c) => c?.is_savepoint && c.status === 'COMPLETED');
    drawSaved(savedInHistory);
    const sorted = [...(stats.history ?? [])].sort((a, b) => b.id - a.id);
    const entries = all ? sorted.slice(offset, offset + HISTORY_ROWS) : sorted;
    range.textContent = kept ? ` ${offset + 1}–${offset + entries.length} of ${kept} kept (newest first) ` : ' none yet ';
    newer.disabled = offset === 0;
    older.disabled = offset + HISTORY_ROWS >= kept;
    history.replaceChildren(
      table(
        ['id', 'status', 'kind', 'trigger time', 'duration', 'size', 'acknowledged'],
        entries.map((c) =>
          el(
            'tr',
            {
              'data-testid': 'checkpoint-row',
              'data-checkpoint': c.id,
              'data-status': c.status,
              class: 'clickable',
              onclick: () => showCheckpoint(id, c.id, detail),
            },
            el('td', {}, String(c.id)),
            el('td', { class: `status-${c.status}` }, c.status),
            el('td', {}, c.checkpoint_type ?? (c.is_savepoint ? 'SAVEPOINT' : 'CHECKPOINT')),
            el('td', {}, time(c.trigger_timestamp)),
            el('td', {}, duration(c.end_to_end_duration)),
            el('td', {}, bytes(c.state_size ?? c.checkpointed_size)),
            el('td', {}, `${c.num_acknowledged_subtasks ?? '-'}${c.num_subtasks ? `/${c.num_subtasks}` : ''}`),
          ),
        ),
      ),
    );
  };
  const refresh = () => draw().catch(showError);
  every(draw);
}

/** The per-subtask rows of one checkpoint: floe's `subtasks`, or Flink's per-vertex `tasks` read vertex by vertex. */
async function subtasksOf(id, details) {
  if (Array.isArray(details.subtasks)) {
    return details.subtasks.map((s) => ({
      name: s.name ?? `${s.vertex}#${s.index}`,
      ack: s.ack_timestamp,
      size: s.state_size,
      alignment: s.alignment_duration,
      delay: s.start_delay,
      sync: s.sync_duration,
      async: s.async_duration,
      inFlight: s.alignment_buffered,
      unaligned: s.unaligned_checkpoint,
    }));
  }
  const rows = [];
  for (const vid of Object.keys(details.tasks ?? {})) {
    const vertex = await rest('GET', `/jobs/${id}/checkpoints/details/${details.id}/subtasks/${vid}`).catch(() => null);
    for (const s of vertex?.subtasks ?? []) {
      rows.push({
        name: s.name ?? `${vid} (${s.index + 1})`,
        ack: s.ack_timestamp,
        size: s.state_size ?? s.checkpointed_size,
        alignment: s.alignment?.duration,
        delay: s.start_delay,
        sync: s.checkpoint?.sync,
        async: s.checkpoint?.async,
        inFlight: s.alignment?.persisted ?? s.alignment?.buffered,
        unaligned: s.unaligned_checkpoint,
      });
    }
  }
  return rows;
}

async function showCheckpoint(id, checkpointId, detail) {
  const details = await rest('GET', `/jobs/${id}/checkpoints/details/${checkpointId}`);
  const rows = await subtasksOf(id, details);
  const total = Math.max(1, ...rows.map((r) => (r.delay ?? 0) + (r.alignment ?? 0) + (r.sync ?? 0) + (r.async ?? 0)));
  const bar = (r) =>
    el(
      'div',
      { class: 'timeline', style: 'white-space:nowrap' },
      ...[
        ['delay', '#cbd5e1'],
        ['alignment', '#f59e0b'],
        ['sync', '#3b82f6'],
        ['async', '#22c55e'],
      ].map(([k, colour]) =>
        el('span', {
          title: `${k} ${duration(r[k])}`,
          style: `display:inline-block;height:10px;background:${colour};width:${(200 * (r[k] ?? 0)) / total}px`,
        }),
      ),
    );
  detail.replaceChildren(
    el('h3', {}, `Checkpoint ${checkpointId}`),
    el('p', { class: 'hint' }, 'timeline: start delay (grey), alignment (amber), sync part (blue), async part (green)'),
    table(
      ['subtask', 'acknowledged', 'state size', 'start delay', 'alignment', 'sync', 'async', 'in-flight data', 'unaligned', 'timeline'],
      rows.map((r) =>
        el(
          'tr',
          {},
          el('td', {}, r.name),
          el('td', {}, time(r.ack)),
          el('td', {}, bytes(r.size)),
          el('td', {}, duration(r.delay)),
          el('td', {}, duration(r.alignment)),
          el('td', {}, duration(r.sync)),
          el('td', {}, duration(r.async)),
          el('td', {}, bytes(r.inFlight)),
          el('td', {}, r.unaligned === undefined ? '-' : String(r.unaligned)),
          el('td', {}, bar(r)),
        ),
      ),
    ),
  );
}

function exceptionsTab(id, content) {
  every(async () => {
    let view;
    try {
      view = await rest('GET', `/jobs/${id}/exceptions`);
    } catch (error) {
      if (error.status === 404) return content.replaceChildren(el('p', { class: 'hint' }, 'this floe serves no exception history'));
      throw error;
    }
    const entries = [...(view.exceptionHistory?.entries ?? view['all-exceptions'] ?? [])].sort(
      (a, b) => (b.timestamp ?? 0) - (a.timestamp ?? 0),
    );
    content.replaceChildren(
      entries.length
        ? table(
            ['time', 'exception', 'task', 'details'],
            entries.map((e) =>
              el(
                'tr',
                { 'data-testid': 'exception-row' },
                el('td', {}, time(e.timestamp)),
                el('td', {}, e.exceptionName ?? e.exception?.split('\n')[0] ?? ''),
                el('td', {}, e.taskName ?? e.task ?? '-'),
                el('td', {}, el('pre', {}, (e.stacktrace ?? e.exception ?? '').slice(0, 2000))),
              ),
            ),
          )
        : el('p', { class: 'hint', 'data-testid': 'no-exceptions' }, 'no failures, no restarts'),
    );
  }, 2000);
}

function configurationTab(id, content) {
  every(async () => {
    const [config, checkpoints] = await Promise.all([
      rest('GET', `/jobs/${id}/config`).catch(() => null),
      rest('GET', `/jobs/${id}/checkpoints/config`).catch(() => null),
    ]);
    content.replaceChildren(
      el('h3', {}, 'Execution configuration'),
      config
        ? keyValues(config['execution-config'] ?? config, { 'data-testid': 'job-config' })
        : el('p', { class: 'hint' }, 'not served by this floe'),
      el('h3', {}, 'Checkpointing'),
      checkpoints ? keyValues(checkpoints, { 'data-testid': 'checkpoint-config' }) : el('p', { class: 'hint' }, 'not served by this floe'),
    );
  }, 5000);
}

route();

// The actor view shared by floe's inspector and dashboard: actors as a tree by parent, each with its live state, its context, and the event log.

/** `{ running: 'processing' }` reads `running.processing`; parallel regions are joined by `, `. */
export function stateText(value) {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'object') return String(value);
  return Object.entries(value)
    .map(([key, sub]) => {
      const inner = stateText(sub);
      return inner && typeof sub === 'object' && Object.keys(sub).length > 1 ? `${key}.(${inner})` : inner ? `${key}.${inner}` : key;
    })
    .join(', ');
}

const MAX_LOG = 500;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

/**
 * Takes @statelyai/inspect's records (`@xstate.actor`, `@xstate.snapshot`, `@xstate.event`) and
 * keeps a tree, a detail pane and an event log in `root` up to date, redrawn at most once a frame.
 */
export class ActorView {
  actors = new Map();
  log = [];
  selected = null;
  #dirty = false;

  /** `events: false` leaves the event log out (the dashboard's task view: its feed carries states, not events) */
  constructor(root, { events = true } = {}) {
    this.root = root;
    this.tree = el('ul', { class: 'actor-tree', 'data-testid': 'actor-tree' });
    this.detail = el('div', { class: 'actor-detail', 'data-testid': 'actor-detail' });
    this.events = el('ol', { class: 'event-log', 'data-testid': 'event-log' });
    root.append(
      el('section', { class: 'pane tree-pane' }, el('h2', {}, 'Actors'), this.tree),
      el('section', { class: 'pane detail-pane' }, el('h2', {}, 'State and context'), this.detail),
      ...(events ? [el('section', { class: 'pane log-pane' }, el('h2', {}, 'Events'), this.events)] : []),
    );
  }

  add(record) {
    const id = record.sessionId;
    if (typeof id !== 'string') return;
    if (record.type === '@xstate.actor') {
      const known = this.actors.get(id);
      this.actors.set(id, { id, name: record.name ?? id, parentId: record.parentId, snapshot: record.snapshot ?? known?.snapshot ?? {} });
    } else if (record.type === '@xstate.snapshot') {
      const actor = this.actors.get(id) ?? { id, name: id, parentId: undefined };
      actor.snapshot = record.snapshot ?? {};
      this.actors.set(id, actor);
    } else if (record.type === '@xstate.event') {
      this.log.push(record);
      if (this.log.length > MAX_LOG) this.log.splice(0, this.log.length - MAX_LOG);
    }
    this.#schedule();
  }

  #schedule() {
    if (this.#dirty) return;
    this.#dirty = true;
    requestAnimationFrame(() => {
      this.#dirty = false;
      this.render();
    });
  }

  #nameOf(id) {
    return id === undefined ? '' : (this.actors.get(id)?.name ?? id);
  }

  render() {
    const children = new Map();
    for (const actor of this.actors.values()) {
      const parent = actor.parentId && this.actors.has(actor.parentId) ? actor.parentId : null;
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(actor);
    }
    const branch = (parent) =>
      (children.get(parent) ?? []).map((actor) => {
        const status = actor.snapshot?.status ?? 'active';
        const item = el(
          'li',
          { 'data-actor': actor.name, 'data-session': actor.id, class: `actor ${status}${actor.id === this.selected ? ' selected' : ''}` },
          el(
            'button',
            { class: 'actor-line', onclick: () => ((this.selected = actor.id), this.render()) },
            el('span', { class: 'actor-name' }, actor.name),
            ' ',
            el('code', { class: 'actor-state', 'data-testid': 'actor-state' }, stateText(actor.snapshot?.value) || status),
          ),
        );
        const sub = branch(actor.id);
        if (sub.length) item.append(el('ul', {}, ...sub));
        return item;
      });
    this.tree.replaceChildren(...branch(null));

    const chosen = this.actors.get(this.selected);
    this.detail.replaceChildren(
      ...(chosen
        ? [
            el('h3', {}, chosen.name),
            el(
              'p',
              {},
              'state: ',
              el('code', { 'data-testid': 'detail-state' }, stateText(chosen.snapshot?.value) || (chosen.snapshot?.status ?? '')),
            ),
            el('pre', { 'data-testid': 'detail-context' }, JSON.stringify(chosen.snapshot?.context ?? null, null, 2)),
          ]
        : [el('p', { class: 'hint' }, 'Select an actor to see its state value and context.')]),
    );

    const shown = this.log.slice(-200).reverse();
    this.events.replaceChildren(
      ...shown.map((e) =>
        el(
          'li',
          { 'data-testid': 'event' },
          el('code', { class: 'event-type' }, String(e.event?.type ?? '')),
          ' ',
          el('span', { class: 'event-route' }, `${e.sourceId ? this.#nameOf(e.sourceId) : '(outside)'} → ${this.#nameOf(e.sessionId)}`),
        ),
      ),
    );
  }
}

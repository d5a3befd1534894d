// The job graph of the dashboard: vertices laid out by dagre, coloured by their worst subtask (idle / busy / backpressured, Flink's colours).

const NS = 'http://www.w3.org/2000/svg';
const WIDTH = 260;
const LINE = 16;
const RANK = { idle: 0, busy: 1, backpressured: 2 };

function svg(tag, attrs = {}) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** The worst load of a vertex's subtasks: one backpressured subtask makes the vertex backpressured. */
export function worstLoad(subtasks) {
  return subtasks.reduce((worst, s) => (RANK[s.load] > RANK[worst] ? s.load : worst), 'idle');
}

/** One status per vertex from its subtasks' phases, as Flink's ExecutionState names them. */
export function vertexStatus(subtasks) {
  const phases = subtasks.map((s) => (typeof s.state === 'string' ? s.state : (Object.keys(s.state ?? {})[0] ?? 'created')));
  const named = phases.map((p) => ({ restoring: 'deploying', canceling: 'canceling', finishing: 'running' })[p] ?? p);
  for (const worst of ['failed', 'canceling', 'canceled', 'created', 'deploying', 'running'])
    if (named.includes(worst)) return worst.toUpperCase();
  return named.length ? named[0].toUpperCase() : 'CREATED';
}

/** Long chain names (a sink's path) are cut to the box; the full name is the box's tooltip. */
const clip = (text, max = 34) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function lines(vertex) {
  return [
    clip(vertex.name),
    clip(`uid: ${vertex.uids.join(', ')}`),
    `parallelism ${vertex.parallelism} · ${vertexStatus(vertex.subtasks)} · ${worstLoad(vertex.subtasks)}`,
  ];
}

export class JobGraphView {
  #shape = '';
  #nodes = new Map();

  constructor(root) {
    this.root = root;
  }

  /** Lays the graph out again only when its vertices or edges change; colours and texts follow every sample. */
  update(vertices) {
    const shape = JSON.stringify(vertices.map((v) => [v.id, v.inputs.map((i) => i.source), v.uids]));
    if (shape !== this.#shape) {
      this.#shape = shape;
      this.#layout(vertices);
    }
    for (const v of vertices) {
      const node = this.#nodes.get(v.id);
      if (!node) continue;
      node.group.setAttribute('class', `vertex ${worstLoad(v.subtasks)}`);
      node.group.setAttribute('data-load', worstLoad(v.subtasks));
      lines(v).forEach((text, i) => (node.texts[i].textContent = text));
    }
  }

  #layout(vertices) {
    const g = new window.dagre.graphlib.Graph();
    g.setGraph({ rankdir: 'LR', nodesep: 30, ranksep: 70, marginx: 20, marginy: 20 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const v of vertices) g.setNode(v.id, { width: WIDTH, height: LINE * 3 + 16 });
    for (const v of vertices) for (const input of v.inputs) g.setEdge(input.source, v.id, { partitioning: input.partitioning });
    window.dagre.layout(g);
    const { width, height } = g.graph();
    const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, 'data-testid': 'job-graph' });
    const defs = svg('defs');
    const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto' });
    marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#475569' }));
    defs.append(marker);
    root.append(defs);
    for (const e of g.edges()) {
      const edge = g.edge(e);
      const d = edge.points.map((p, i) => `${i ? 'L' : 'M'}${p.x},${p.y}`).join(' ');
      root.append(svg('path', { d, class: 'edge', 'marker-end': 'url(#arrow)' }));
      const mid = edge.points[Math.floor(edge.points.length / 2)];
      const label = svg('text', { x: mid.x, y: mid.y - 4, 'text-anchor': 'middle', 'font-size': 11, fill: '#475569' });
      label.textContent = edge.partitioning.toUpperCase();
      root.append(label);
    }
    this.#nodes.clear();
    for (const v of vertices) {
      const n = g.node(v.id);
      const group = svg('g', {
        class: 'vertex idle',
        'data-vertex': v.id,
        transform: `translate(${n.x - n.width / 2},${n.y - n.height / 2})`,
      });
      group.append(svg('rect', { width: n.width, height: n.height, rx: 6 }));
      const title = svg('title');
      title.textContent = `${v.name}\nuids: ${v.uids.join(', ')}`;
      group.append(title);
      const texts = lines(v).map((text, i) => {
        const t = svg('text', { x: 10, y: 20 + i * LINE, 'font-weight': i === 0 ? 600 : 400 });
        t.textContent = text;
        group.append(t);
        return t;
      });
      root.append(group);
      this.#nodes.set(v.id, { group, texts });
    }
    this.root.replaceChildren(root);
  }
}

// What the alignment benchmark shows: a table per scenario and mode, per-subtask alignment, target checks, SVG charts.
import type { BenchMode, ModeResult, Percentiles } from './alignment-bench.ts';

const ms = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(0));
const bytes = (n: number) =>
  n < 1024 ? `${Math.round(n)} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;

export function formatTable(rows: Array<Record<string, string>>): string {
  const cols = Object.keys(rows[0] ?? {});
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(width[i]!))
      .join('  ')
      .trimEnd();
  return [line(cols), line(width.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => r[c]!)))].join('\n');
}

/** One row per mode: throughput (and its ratio to at-least-once), checkpoint, alignment, delay, bytes, latency. */
export function modeTable(results: ModeResult[]): string {
  const alo = results.find((r) => r.mode === 'at-least-once')?.throughput;
  return formatTable(
    results.map((r) => ({
      mode: r.mode,
      'records/s': Math.round(r.throughput).toLocaleString('en-US'),
      'vs ALO': alo ? (r.throughput / alo).toFixed(2) : '-',
      'ckpts ok/failed': `${r.checkpoints.completed}/${r.checkpoints.failed}`,
      'ckpt p50/p99 ms': `${ms(r.checkpointDuration.p50)} / ${ms(r.checkpointDuration.p99)}`,
      'align p50/p99 ms': `${ms(r.alignmentDuration.p50)} / ${ms(r.alignmentDuration.p99)}`,
      'start delay p50/p99 ms': `${ms(r.startDelay.p50)} / ${ms(r.startDelay.p99)}`,
      'held in alignment p99': bytes(r.bytesHeldDuringAlignment.p99),
      'in-flight persisted p50/p99': `${bytes(r.inFlightBytesPersisted.p50)} / ${bytes(r.inFlightBytesPersisted.p99)}`,
      // on a cluster, sources and sinks run in other processes, on other clocks
      'latency p50/p99 ms': r.taskManagers ? '-' : `${ms(r.latency.p50)} / ${ms(r.latency.p99)}`,
    })),
  );
}

/** Checkpoint and alignment p99 of each mode in this process beside the same mode on TaskManagers. */
export function clusterComparison(local: ModeResult[], clustered: ModeResult[]): string {
  return formatTable(
    clustered.map((c) => {
      const l = local.find((r) => r.mode === c.mode && r.level === c.level);
      const ratio = (a: number | undefined, b: number) => (a ? (b / a).toFixed(2) : '-');
      return {
        mode: c.mode,
        'ckpt p99 ms, one process': l ? ms(l.checkpointDuration.p99) : '-',
        [`ckpt p99 ms, ${c.taskManagers} TaskManagers`]: ms(c.checkpointDuration.p99),
        'ckpt p99 ratio': ratio(l?.checkpointDuration.p99, c.checkpointDuration.p99),
        'align p99 ms, one process': l ? ms(l.alignmentDuration.p99) : '-',
        [`align p99 ms, ${c.taskManagers} TaskManagers`]: ms(c.alignmentDuration.p99),
        'records/s ratio': ratio(l?.throughput, c.throughput),
      };
    }),
  );
}

/** Alignment p50/p99 per subtask (rows) for each mode (columns). */
export function subtaskTable(results: ModeResult[]): string {
  const subtasks = [...new Set(results.flatMap((r) => Object.keys(r.alignmentBySubtask)))];
  if (subtasks.length === 0) return '';
  return formatTable(
    subtasks.map((s) => ({
      'alignment p50/p99 ms': s,
      ...Object.fromEntries(
        results.map((r) => {
          const p = r.alignmentBySubtask[s];
          return [r.mode, p ? `${ms(p.p50)} / ${ms(p.p99)}` : '-'];
        }),
      ),
    })),
  );
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

/** The targets, where the run has the modes they compare. */
export function checkTargets(scenario: string, results: ModeResult[]): TargetCheck[] {
  const by = (m: BenchMode) => results.find((r) => r.mode === m && r.level === 1);
  const checks: TargetCheck[] = [];
  const eo = by('exactly-once');
  const alo = by('at-least-once');
  const ua = by('unaligned');
  if (scenario === 'balanced' && eo && alo) {
    const ratio = eo.throughput / alo.throughput;
    checks.push({
      target: 'balanced: exactly-once throughput within 10% of at-least-once',
      measured: `${ratio.toFixed(3)}x`,
      met: ratio >= 0.9,
    });
    checks.push({
      target: 'balanced: exactly-once p99 alignment < 10 ms',
      measured: `${ms(eo.alignmentDuration.p99)} ms`,
      met: eo.alignmentDuration.p99 < 10,
    });
  }
  if (scenario === 'backpressure' && eo && ua) {
    const ratio = ua.checkpointDuration.p99 / eo.checkpointDuration.p99;
    checks.push({
      target: 'backpressure: unaligned p99 checkpoint <= 1/5 of aligned',
      measured: `${ms(ua.checkpointDuration.p99)} vs ${ms(eo.checkpointDuration.p99)} ms (${ratio.toFixed(3)}x)`,
      met: ratio <= 0.2,
    });
  }
  return checks;
}

const COLORS: Record<BenchMode, string> = {
  'exactly-once': '#d62728',
  'at-least-once': '#7f7f7f',
  unaligned: '#1f77b4',
  'aligned-timeout': '#2ca02c',
};

/** One panel: per mode a solid p99 line and a dashed p50 line over the backpressure levels, log-scaled y (durations span orders of magnitude). */
function panel(
  results: ModeResult[],
  metric: (r: ModeResult) => Percentiles,
  title: string,
  x0: number,
  levelLabel: (l: number) => string,
): string {
  const W = 420;
  const H = 300;
  const left = x0 + 60;
  const top = 40;
  const plotW = W - 80;
  const plotH = H - 90;
  const levels = [...new Set(results.map((r) => r.level))].sort((a, b) => a - b);
  const values = results.flatMap((r) => [metric(r).p50, metric(r).p99]).map((v) => Math.max(v, 0.1));
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values, lo * 10))));
  const x = (level: number) => left + (levels.length === 1 ? plotW / 2 : (levels.indexOf(level) / (levels.length - 1)) * plotW);
  const y = (v: number) => top + plotH - ((Math.log10(Math.max(v, 0.1)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
  const parts: string[] = [
    `<text x="${left + plotW / 2}" y="${top - 9}" text-anchor="middle" font-size="14" font-weight="bold">${title}</text>`,
  ];
  for (let d = lo; d <= hi; d *= 10) {
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${y(d) + 4}" text-anchor="end" font-size="11">${d >= 1 ? d : d.toFixed(1)} ms</text>`);
  }
  for (const l of levels)
    parts.push(`<text x="${x(l)}" y="${top + plotH + 16}" text-anchor="middle" font-size="11">${levelLabel(l)}</text>`);
  parts.push(
    `<text x="${left + plotW / 2}" y="${top + plotH + 34}" text-anchor="middle" font-size="12">slow subtask: busy ms after each batch (backpressure)</text>`,
  );
  parts.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  const modes = [...new Set(results.map((r) => r.mode))];
  for (const mode of modes) {
    const points = results.filter((r) => r.mode === mode).sort((a, b) => a.level - b.level);
    for (const q of ['p99', 'p50'] as const) {
      const path = points.map((r) => `${x(r.level).toFixed(1)},${y(metric(r)[q]).toFixed(1)}`).join(' ');
      parts.push(
        `<polyline points="${path}" fill="none" stroke="${COLORS[mode]}" stroke-width="2"${q === 'p50' ? ' stroke-dasharray="4 3" opacity="0.7"' : ''}/>`,
      );
      for (const r of points)
        parts.push(
          `<circle cx="${x(r.level).toFixed(1)}" cy="${y(metric(r)[q]).toFixed(1)}" r="${q === 'p99' ? 3 : 2}" fill="${COLORS[mode]}"><title>${mode} ${q}: ${ms(metric(r)[q])} ms</title></circle>`,
        );
    }
  }
  return parts.join('\n');
}

/** Two panels side by side: p99 checkpoint duration and p99 alignment time per mode as backpressure grows. */
export function sweepChart(scenario: string, results: ModeResult[], baseDelayMs: number): string {
  const label = (l: number) => `${+(l * baseDelayMs).toFixed(1)}`;
  const modes = [...new Set(results.map((r) => r.mode))];
  const legend = modes
    .map(
      (m, i) =>
        `<rect x="${70 + i * 150}" y="312" width="14" height="4" fill="${COLORS[m]}"/><text x="${90 + i * 150}" y="318" font-size="12">${m}</text>`,
    )
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="860" height="330" font-family="sans-serif" viewBox="0 0 860 330">`,
    `<rect width="860" height="330" fill="white"/>`,
    `<text x="430" y="12" text-anchor="middle" font-size="12">floe alignment benchmark — ${scenario} (solid p99, dashed p50, log scale)</text>`,
    panel(results, (r) => r.checkpointDuration, 'checkpoint duration', 0, label),
    panel(results, (r) => r.alignmentDuration, 'alignment time (subtasks with inputs)', 430, label),
    legend,
    `</svg>`,
  ].join('\n');
}

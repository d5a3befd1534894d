// Memory probe for big-state runs: preload it (`node --import=tsx --import=./examples/big-state/memory-probe.ts bin/floe.js run ...`) to log RSS and JS heap every BIG_STATE_PROBE_MS (default 10 s) and their peaks at exit.
const every = Number(process.env.BIG_STATE_PROBE_MS ?? 10_000);
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
const started = performance.now();
let peakRss = 0;
let peakHeap = 0;

function sample(label: string): void {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
  const at = ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(
    `[memory ${at} s] ${label}rss ${mib(m.rss)}, heap used ${mib(m.heapUsed)} of ${mib(m.heapTotal)}, external ${mib(m.external)}\n`,
  );
}

// unref: the probe must never keep a finished job's process alive
setInterval(() => sample(''), every).unref();
process.on('exit', () => {
  sample('at exit: ');
  process.stderr.write(`[memory] peak rss ${mib(peakRss)}, peak heap used ${mib(peakHeap)}\n`);
});

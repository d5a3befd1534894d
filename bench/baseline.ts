// The baseline option shared by the benches: another floe checkout measured beside this one, in the same rounds.
//
// `--baseline <checkout>` or `FLOE_BENCH_BASELINE=<checkout>` (the flag wins). The checkout runs its OWN
// src/ (a child script of this tree imports it), so it needs its node_modules but no bench file of ours.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The baseline checkout named on the command line or in the environment, resolved and checked; undefined when none. */
export function baselineOption(args: string[] = process.argv.slice(3)): string | undefined {
  const i = args.indexOf('--baseline');
  const given = i >= 0 ? args[i + 1] : process.env.FLOE_BENCH_BASELINE || undefined;
  if (given === undefined) return undefined;
  const root = resolve(given);
  if (!existsSync(join(root, 'src/index.ts')) || !existsSync(join(root, 'node_modules'))) {
    console.error(`--baseline ${root}: not a floe checkout with src/index.ts and node_modules (run npm ci there)`);
    process.exit(1);
  }
  return root;
}

/** `args` without `--baseline <checkout>`, for the parsers that do not know the flag. */
export function withoutBaseline(args: string[]): string[] {
  const i = args.indexOf('--baseline');
  return i < 0 ? args : [...args.slice(0, i), ...args.slice(i + 2)];
}

/** Imports `path` (e.g. `src/index.ts`) of the floe checkout at `root`: this tree when root is undefined. */
export async function importFrom<T>(root: string | undefined, path: string): Promise<T> {
  const base = root ?? join(import.meta.dirname, '..');
  return (await import(pathToFileURL(join(base, path)).href)) as T;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** "1.02 (0.97-1.05)": the median of per-round ratios and their range, two decimals. */
export function ratioText(perRound: number[]): string {
  const ok = perRound.filter((r) => Number.isFinite(r));
  if (ok.length === 0) return '-';
  return `${median(ok).toFixed(2)} (${Math.min(...ok).toFixed(2)}-${Math.max(...ok).toFixed(2)})`;
}

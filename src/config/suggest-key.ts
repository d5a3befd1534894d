// "Did you mean ...?": the known key closest to a misspelled one.

/** The candidate closest to `input`, or undefined when none is close enough to be a likely typo. */
export function suggestKey(input: string, candidates: readonly string[]): string | undefined {
  // A key given without its prefix ('checkpointing.interval') names the option that ends with it.
  const bySuffix = candidates.filter((c) => c.endsWith(`.${input}`));
  if (bySuffix.length === 1) return bySuffix[0];

  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(input, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  // Allow about one edit per eight characters, at least two: typos, not different options.
  return bestDistance <= Math.max(2, Math.floor(input.length / 8)) ? best : undefined;
}

/** Levenshtein distance (insert, delete, substitute), computed row by row. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitute = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, substitute));
    }
    previous = row;
  }
  return previous[b.length]!;
}

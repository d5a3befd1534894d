// The SQL the PostgresSink sends: quoted identifiers, one multi-row INSERT per batch (upsert with a key), transaction ids.

/** "name" quoting, part by part for schema.table */
export function quoteIdent(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join('.');
}

/** 'text' quoting, for the transaction ids PREPARE TRANSACTION and COMMIT PREPARED take as literals */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** at most this many parameters per statement (PostgreSQL's protocol limit is 65535) */
const MAX_PARAMS = 65_000;

/** Rows per INSERT for `columns` columns, within the parameter limit. */
export function rowsPerStatement(columns: number, batchSize: number): number {
  return Math.max(1, Math.min(batchSize, Math.floor(MAX_PARAMS / columns)));
}

/**
 * `INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) [ON CONFLICT (key) DO UPDATE SET ...]` for `rows`
 * rows, with its flat parameter list. With a key, the rows must have distinct keys (PostgreSQL
 * refuses to update one row twice in one statement): the sink keeps the last row per key.
 */
export function insertStatement(
  table: string,
  columns: string[],
  key: string[] | undefined,
  rows: unknown[][],
): { text: string; values: unknown[] } {
  const width = columns.length;
  const values: unknown[] = new Array(rows.length * width);
  const tuples: string[] = new Array(rows.length);
  let p = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    const marks = new Array<string>(width);
    for (let c = 0; c < width; c++) {
      values[p] = row[c];
      marks[c] = `$${++p}`;
    }
    tuples[r] = `(${marks.join(',')})`;
  }
  let text = `INSERT INTO ${quoteIdent(table)} (${columns.map(quoteIdent).join(',')}) VALUES ${tuples.join(',')}`;
  if (key && key.length > 0) {
    const rest = columns.filter((c) => !key.includes(c));
    text += ` ON CONFLICT (${key.map(quoteIdent).join(',')}) `;
    text +=
      rest.length === 0 ? 'DO NOTHING' : `DO UPDATE SET ${rest.map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`).join(', ')}`;
  }
  return { text, values };
}

/**
 * A prepared transaction's id (PostgreSQL's gid, at most 200 bytes): the sink's lineage (the job
 * that started it), its operator, the subtask and the checkpoint, so a restore finds what it left.
 */
export function transactionId(prefix: string, subtask: number, checkpointId: number): string {
  return `${prefix}${subtask}:${checkpointId}`;
}

/**
 * `<base>:<lineage>:<uid>:` — the gids of one sink of one job lineage start with this; `base` is
 * `floe` or the sink's transactionalIdPrefix.
 */
export function transactionPrefix(lineage: string, operatorUid: string, base = 'floe'): string {
  return `${base}:${lineage.slice(0, 64)}:${operatorUid.slice(0, 100)}:`;
}

/** lineage, operator uid and subtask of any floe gid under `base` (`<base>:<lineage>:<uid>:<subtask>:<checkpoint>`), or null */
export function parseAnyTransactionId(base: string, gid: string): { lineage: string; uid: string; subtask: number } | null {
  if (!gid.startsWith(`${base}:`)) return null;
  const m = /^([^:]*):(.*):(\d+):(\d+)$/.exec(gid.slice(base.length + 1));
  return m ? { lineage: m[1]!, uid: m[2]!, subtask: Number(m[3]) } : null;
}

/** subtask and checkpoint of a gid that starts with `prefix`, or null */
export function parseTransactionId(prefix: string, gid: string): { subtask: number; checkpointId: number } | null {
  if (!gid.startsWith(prefix)) return null;
  const m = /^(\d+):(\d+)$/.exec(gid.slice(prefix.length));
  return m ? { subtask: Number(m[1]), checkpointId: Number(m[2]) } : null;
}

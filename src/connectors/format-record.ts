// How a sink turns a record into one line of text: strings as they are, everything else as JSON.

export function formatRecord(record: unknown): string {
  if (typeof record === 'string') return record;
  // JSON.stringify throws on bigint and returns undefined for undefined/functions/symbols
  if (typeof record === 'bigint') return record.toString();
  return JSON.stringify(record) ?? String(record);
}

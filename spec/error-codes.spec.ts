// One registry of error codes (src/error-codes.ts): the README's table says the same, and every FLOE_ code in src/ is in it.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { ERROR_CODES, type ErrorCode } from '../src/error-codes.ts';
import * as errors from '../src/errors.ts';
import { FloeWarning } from '../src/warnings.ts';

const ROOT = resolve(import.meta.dirname, '..');
/** environment variables and identifiers that start like a code */
const NOT_CODES = new Set(['FLOE_JOBMANAGER', 'FLOE_REST_TOKEN', 'FLOE_ERRORS', 'FLOE_BIN', 'FLOE_DEBUG_CLUSTER', 'FLOE_FROM_SOURCE']);

const row = (code: string) => `| \`${code}\` | ${ERROR_CODES[code as ErrorCode].class} | ${ERROR_CODES[code as ErrorCode].when} |`;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

t.test("the README's table of error codes is the registry, row for row", async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## Error codes$/m)[1]?.split(/^## /m)[0] ?? '';
  const rows = section.split('\n').filter((l) => l.startsWith('| `FLOE_'));
  const expected = Object.keys(ERROR_CODES).map(row);
  // on a mismatch the diff shows the rows to paste
  t.same(rows, expected, 'README.md, section "Error codes": one row per code, in the registry\'s order');
});

t.test('every FLOE_ code written in src/ is registered', async (t) => {
  const unregistered = new Map<string, string>();
  for (const file of files(join(ROOT, 'src'))) {
    for (const [code] of readFileSync(file, 'utf8').matchAll(/\bFLOE_[A-Z0-9_]*[A-Z0-9]\b/g)) {
      if (!NOT_CODES.has(code) && !(code in ERROR_CODES)) unregistered.set(code, file.slice(ROOT.length + 1));
    }
  }
  t.same(Object.fromEntries(unregistered), {}, 'codes missing from src/error-codes.ts (code: first file)');
});

t.test('each registered class exists, and an error of that class carries its code', async (t) => {
  const classes: Record<string, unknown> = { ...errors, FloeWarning };
  for (const [code, { class: name }] of Object.entries(ERROR_CODES)) {
    const Class = classes[name];
    t.type(Class, 'function', `${code}: ${name} is a class of floe's`);
  }
  const e = new errors.ConfigError('FLOE_CONFIG_BAD_VALUE', 'bad', { hint: 'fix it' });
  t.equal(e.code, 'FLOE_CONFIG_BAD_VALUE');
  t.ok(errors.isErrorCode('FLOE_CONFIG_BAD_VALUE'));
  t.notOk(errors.isErrorCode('FLOE_NOT_A_CODE'));
  t.notOk(errors.isErrorCode('toString'), 'only own keys');
});

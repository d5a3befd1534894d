// Where a job file went wrong: its syntax errors (esbuild's and Node's) and the job file's line in a stack.
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { JobDefinitionError } from '../errors.ts';

/** `file:line:column` — the form editors and terminals jump to. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export const formatLocation = (l: SourceLocation) => `${l.file}:${l.line}:${l.column}`;

/**
 * The job file's syntax error as a coded error, or undefined when `error` is no syntax error.
 * tsx compiles .ts (and most .js) with esbuild, whose error reaches us as text (the loader runs in a
 * worker): "Transform failed with 1 error:\n<file>:<line>:<col>: ERROR: <message>". Files Node
 * compiles itself (.mjs, .js in a "type": "module" package) fail with a SyntaxError whose location
 * Node keeps to itself: `node --check` prints it.
 */
export function syntaxError(error: unknown, file: string): JobDefinitionError | undefined {
  const e = error as { name?: string; message?: string; stack?: string } | null;
  const message = e?.message ?? '';
  const esbuild = /^Transform failed with (\d+) errors?:\n(.+?):(\d+):(\d+): ERROR: (.*)$/m.exec(message);
  if (esbuild) {
    const [, count, where, line, column, text] = esbuild;
    const more = Number(count) > 1 ? ` (and ${Number(count) - 1} more)` : '';
    return fromLocation({ file: where!, line: Number(line), column: Number(column) }, `${text}${more}`, error);
  }
  // a SyntaxError thrown while compiling has Node's compiler as its first frame; one a job throws (JSON.parse) has not
  const firstFrame = e?.stack?.split('\n').find((l) => /^\s+at /.test(l)) ?? '';
  if (e?.name !== 'SyntaxError' || !firstFrame.includes('node:internal')) return undefined;
  const located = checkSyntax(file);
  if (located) return fromLocation(located.location, located.message, error);
  // the job file parses: the error is in a module it imports, which Node does not name
  return new JobDefinitionError('FLOE_JOB_SYNTAX_ERROR', `a module imported by ${file} has a syntax error: ${message}`, {
    cause: error,
    hint: `\`node --check <file>\` on the modules ${file} imports shows which one and where`,
  });
}

function fromLocation(location: SourceLocation, text: string, cause: unknown): JobDefinitionError {
  return new JobDefinitionError('FLOE_JOB_SYNTAX_ERROR', `${formatLocation(location)}: ${text}`, {
    cause,
    hint: 'fix the job file at that line and column, then run it again',
  });
}

/** `node --check` prints `<file>:<line>`, the line, a caret under the column, and `SyntaxError: <message>`. */
function checkSyntax(file: string): { location: SourceLocation; message: string } | undefined {
  const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
  const lines = (check.stderr ?? '').split('\n');
  const head = /^(.*):(\d+)$/.exec(lines[0] ?? '');
  const caret = lines[2]?.indexOf('^') ?? -1;
  const message = lines.find((l) => l.startsWith('SyntaxError: '))?.slice('SyntaxError: '.length);
  if (!head || message === undefined) return undefined;
  return { location: { file: head[1]!, line: Number(head[2]), column: caret + 1 || 1 }, message };
}

/** The innermost frame of `stack` in `file` (a path or its file: URL), where the job's own code threw. */
export function locationIn(stack: string | undefined, file: string): SourceLocation | undefined {
  const url = pathToFileURL(file).href;
  for (const line of (stack ?? '').split('\n')) {
    if (!/^\s+at /.test(line)) continue;
    for (const name of [url, file]) {
      const i = line.indexOf(`${name}:`);
      if (i < 0) continue;
      const m = /^:(\d+):(\d+)/.exec(line.slice(i + name.length));
      if (m) return { file, line: Number(m[1]), column: Number(m[2]) };
    }
  }
  return undefined;
}

// The README's "Write a job" section as a user pastes it: its job.ts, its commands, its API snippet, read from the README so they cannot drift.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';

const root = fileURLToPath(new URL('../../', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Write a job'), readme.indexOf('### The DataStream API'));
const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, code: m[2]! }));
const block = (what: string, test: (b: { lang: string; code: string }) => boolean) => {
  const found = blocks.find(test);
  if (!found) throw new Error(`the README's "Write a job" section has no ${what}`);
  return found.code;
};
const jobFile = block('job.ts block', (b) => b.lang === 'ts' && b.code.startsWith('// job.ts'));
const commands = block('commands for job.ts', (b) => b.lang === 'sh' && b.code.includes('floe run job.ts'))
  .trim()
  .split('\n');
const apiSnippet = block('API snippet', (b) => b.lang === 'ts' && b.code.includes('getExecutionEnvironment'));

interface Run {
  code: number;
  stderr: string;
}

/**
 * Runs one README command line with sh in `cwd`, as pasted, except that `npx floe` is this
 * checkout's bin/floe.js (what npx runs inside the checkout, without npm's start-up).
 */
function sh(line: string, cwd: string): Promise<Run> {
  const command = line.replace(/^npx floe /, `${JSON.stringify(process.execPath)} ${JSON.stringify(join(root, 'bin/floe.js'))} `);
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { cwd, timeout: 60_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr });
    });
  });
}

/** Every committed line in `out` (hidden files are no output). */
const committed = (out: string) =>
  readdirSync(out)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean));

/** The word count's running counts for `text`: ["w",1], ["w",2], ... per word, sorted. */
function runningCounts(text: string): string[] {
  const seen = new Map<string, number>();
  const lines: string[] = [];
  for (const w of text.split(/\s+/).filter(Boolean)) {
    const n = (seen.get(w) ?? 0) + 1;
    seen.set(w, n);
    lines.push(JSON.stringify([w, n]));
  }
  return lines.sort();
}

t.test(
  'job.ts and its commands as pasted: input made, counts written, no uid warning; a re-run warns with a code and a hint',
  async (t) => {
    // inside the checkout (tap's fixtures live under it), where `import ... from 'floe'` resolves to this package
    const dir = t.testdir({ 'job.ts': jobFile });
    const make = commands.find((c) => !c.includes('floe run'));
    const run = commands.find((c) => c.includes('floe run job.ts'));
    t.ok(make, 'the README gives a command that makes in.txt');
    t.equal((await sh(make!, dir)).code, 0);
    const input = readFileSync(join(dir, 'in.txt'), 'utf8');
    t.ok(input.trim().length > 0, 'in.txt has words');

    const first = await sh(run!, dir);
    t.equal(first.code, 0, first.stderr);
    t.notMatch(first.stderr, /FLOE_UID_MISSING|no \.uid/, 'every operator, the sink too, has a uid');
    t.notMatch(first.stderr, /FLOE_SINK_OTHER_JOB_PARTS/, 'a first run into a new directory does not warn');
    t.match(first.stderr, /job FINISHED/);
    t.same(committed(join(dir, 'out')).sort(), runningCounts(input), 'each running count once');

    const again = await sh(run!, dir);
    t.equal(again.code, 0, again.stderr);
    const lines = again.stderr.split('\n');
    const warning = lines.findIndex((l) => l.startsWith('warning FLOE_SINK_OTHER_JOB_PARTS: '));
    t.ok(warning >= 0, `the re-run warns: ${again.stderr}`);
    t.match(lines[warning], /the FileSink directory .*out already holds \d+ committed part files of another job/);
    t.match(lines[warning + 1], /^hint: remove the directory/);
    t.ok(warning < lines.findIndex((l) => / running, pid \d+$/.test(l)), 'at the start, before the job runs');
    t.equal(committed(join(dir, 'out')).length, 2 * runningCounts(input).length, 'what it warns of: both outputs are there');

    // the README's advice: remove out/ first
    t.equal((await sh('rm -r out', dir)).code, 0);
    const clean = await sh(run!, dir);
    t.notMatch(clean.stderr, /FLOE_SINK_OTHER_JOB_PARTS/);
    t.same(committed(join(dir, 'out')).sort(), runningCounts(input));
  },
);

t.test('the API snippet as pasted: execute then executeAsync on one environment run 1000 records each', async (t) => {
  const dir = t.testdir({ 'api.ts': `${apiSnippet}\nexport { doubles, squares, result };\n` });
  const ran = (await import(pathToFileURL(join(dir, 'api.ts')).href)) as {
    doubles: number[];
    squares: number[];
    result: { status: string };
  };
  t.equal(ran.result.status, 'FINISHED');
  t.same(
    [...ran.doubles].sort((a, b) => a - b),
    Array.from({ length: 1000 }, (_, i) => 2 * (i + 1)),
    'the first job: its 1000 doubles',
  );
  t.same(
    [...ran.squares].sort((a, b) => a - b),
    Array.from({ length: 1000 }, (_, i) => (i + 1) ** 2),
    'the second job: its 1000 squares, not the first pipeline again',
  );
});

// The package as npm users get it: `npm pack` (which builds dist/ at prepare), the tarball installed into a
// fresh project outside the checkout, and there plain node, `npx floe run` (a .mjs and a .ts job) and tsc.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { openBrowser } from '../helpers/browser.ts';
import { isRunning, until } from '../helpers/floe-process.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
// pack, install, four runs and a browser: past tap's 120 s per file on a busy machine
t.setTimeout(600_000);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command without tap's hooks: tap puts them back into NODE_OPTIONS of every process a spec
 * spawns, and they fail tsc (an ES module) with ERR_REQUIRE_CYCLE_MODULE; `env -u` drops them at the
 * last step. Nor coverage: these processes run a built dist/ in another folder.
 */
function run(command: string, args: string[], cwd: string): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      'env',
      ['-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE', command, ...args],
      {
        cwd,
        env: { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0', npm_config_update_notifier: 'false' },
        maxBuffer: 64 << 20,
      },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const committed = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith('part-'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));

const job = `import { FileSink } from 'floe';

export default function job(env) {
  env
    .fromCollection(['to be or', 'not to be'])
    .flatMap((line) => line.split(' '))
    .map((word) => [word, 1])
    .keyBy((pair) => pair[0])
    .reduce((a, b) => [a[0], a[1] + b[1]])
    .sinkTo(new FileSink('out-mjs'));
}
`;

const typedJob = `import { FileSink, type StreamExecutionEnvironment } from 'floe';

type Count = [word: string, count: number];

export default function job(env: StreamExecutionEnvironment): void {
  env
    .fromCollection(['to be or', 'not to be'])
    .flatMap((line: string) => line.split(' '))
    .map((word): Count => [word, 1])
    .keyBy((pair) => pair[0])
    .reduce((a, b): Count => [a[0], a[1] + b[1]])
    .sinkTo(new FileSink<Count>('out-ts'));
}
`;

/** A job that runs until it is stopped: one record, then a source that idles (the dashboard draws it meanwhile). */
const liveJob = `import { FileSink } from 'floe';

const idle = {
  name: 'Idle',
  createReader() {
    let sent = false;
    return {
      open() {},
      poll(output) {
        if (!sent) output.collect('hello');
        sent = true;
        return 'idle';
      },
      snapshotState() {},
    };
  },
};

export default function job(env) {
  env.fromSource(idle).uid('greeting').map((s) => s.toUpperCase()).uid('shout').sinkTo(new FileSink('out-live')).uid('live-sink');
}
`;

const program = `import { CollectSink, StreamExecutionEnvironment } from 'floe';

const out = [];
const env = new StreamExecutionEnvironment();
env.fromCollection([1, 2, 3]).map((x) => x * 10).sinkTo(new CollectSink(out));
const result = await env.execute('plain-node');
console.log(JSON.stringify({ status: result.status, out }));
`;

t.test('npm pack, npm install of the tarball in a fresh project: node, npx floe run and tsc work there', async (t) => {
  t.setTimeout(540_000);
  // outside the checkout: nothing resolves through its node_modules
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'floe-package-')));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const project = join(dir, 'project');
  mkdirSync(project);

  const pack = await run('npm', ['pack', '--json', '--pack-destination', dir], root);
  t.equal(pack.code, 0, pack.stderr);
  // the JSON follows what the prepare script printed
  const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = packed!.files.map((f) => f.path);
  t.ok(
    files.includes('dist/index.js') && files.includes('dist/index.d.ts') && files.includes('dist/cli/main.js'),
    'the tarball carries dist/',
  );
  t.ok(
    [
      'dashboard.html',
      'dashboard.js',
      'job-graph-view.js',
      'actor-view.js',
      'floe.css',
      'inspector.html',
      'inspector.js',
      'dagre.js',
      'dagre.LICENSE.txt',
    ].every((f) => files.includes(`dist/web/assets/${f}`)),
    "and the pages' files, the graph layout library with them",
  );
  t.ok(
    files.includes('bin/floe.js') && files.some((f) => f.startsWith('bench/scenarios/')),
    'and the command with the bench scenarios it runs',
  );
  t.same(
    files.filter((f) => /^(src|spec|examples)\/|^bench\/[^/]+\.ts$|^\.|tsconfig/.test(f)),
    [],
    'and no sources, specs, examples, benchmarks or configuration',
  );

  writeFileSync(join(project, 'package.json'), '{ "name": "my-jobs", "private": true, "type": "module" }\n');
  // --prefer-offline: the dependencies come from npm's cache (filled by the checkout's own install) when there
  const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, packed!.filename)], project);
  t.equal(install.code, 0, install.stderr);
  t.notOk(existsSync(join(project, 'node_modules/floe/src')), 'installed without sources');

  writeFileSync(join(project, 'program.mjs'), program);
  const node = await run(process.execPath, ['program.mjs'], project);
  t.equal(node.code, 0, node.stderr);
  t.same(JSON.parse(node.stdout), { status: 'FINISHED', out: [10, 20, 30] }, 'plain node imports floe and runs a pipeline');

  writeFileSync(join(project, 'job.mjs'), job);
  writeFileSync(join(project, 'job.ts'), typedJob);
  // the checkout's tsc and Node types; floe's own .d.ts are checked too (no skipLibCheck)
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const tsconfig = (name: string, file: string) => {
    writeFileSync(
      join(project, name),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          typeRoots: [join(root, 'node_modules/@types')],
          types: ['node'],
        },
        files: [file],
      }),
    );
    return name;
  };
  // a type error, so that the check is seen to fail: the installed types are floe's, not any
  writeFileSync(join(project, 'bad.ts'), typedJob.replace('(word): Count => [word, 1]', '(word) => word * 2'));
  const [mjs, ts, good, bad] = await Promise.all([
    run('npx', ['floe', 'run', 'job.mjs', '--rest-port', '0'], project),
    run('npx', ['floe', 'run', 'job.ts', '--rest-port', '0'], project),
    run(process.execPath, [tsc, '-p', tsconfig('tsconfig.json', 'job.ts')], project),
    run(process.execPath, [tsc, '-p', tsconfig('tsconfig.bad.json', 'bad.ts')], project),
  ]);
  const counts = ['["be",1]', '["be",2]', '["not",1]', '["or",1]', '["to",1]', '["to",2]'];
  t.equal(mjs.code, 0, mjs.stderr);
  t.match(mjs.stderr, /job FINISHED/);
  t.same(committed(join(project, 'out-mjs')).sort(), counts, 'npx floe run job.mjs');
  t.equal(ts.code, 0, ts.stderr);
  t.same(committed(join(project, 'out-ts')).sort(), counts, 'npx floe run job.ts');
  t.equal(good.code, 0, `tsc type-checks the job against the installed types: ${good.stdout}${good.stderr}`);
  t.not(bad.code, 0, 'a type error in a job is found');
  t.match(bad.stdout, /bad\.ts\(\d+,\d+\): error TS\d+/);

  // the dashboard of the installed package draws the job graph, its layout library served from floe's own dist/:
  // with @dagrejs/dagre gone from the project's node_modules, nothing can come from there
  rmSync(join(project, 'node_modules/@dagrejs'), { recursive: true, force: true });
  writeFileSync(join(project, 'live.mjs'), liveJob);
  const child = spawn('env', ['-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE', 'npx', 'floe', 'run', 'live.mjs', '--rest-port', '0'], {
    cwd: project,
    env: { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0', npm_config_update_notifier: 'false' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const pid = () => Number(/ running, pid (\d+)/.exec(log)?.[1] ?? 0);
  t.teardown(() => {
    if (pid() && isRunning(pid())) process.kill(pid(), 'SIGKILL');
    child.kill('SIGKILL');
  });
  await until(
    () => /REST API listening on http:\/\/127\.0\.0\.1:\d+/.test(log) && pid() > 0,
    `the REST address and the pid in:\n${log}`,
    120_000,
  );
  const base = `http://127.0.0.1:${/REST API listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log)![1]}`;
  const dagre = await fetch(`${base}/web/dagre.js`);
  t.equal(dagre.status, 200, 'the layout library is served');
  t.match(await dagre.text(), /var dagre=/);
  const browser = await openBrowser();
  t.teardown(() => browser.close());
  const { page } = browser;
  await page.goto(`${base}/#/overview`);
  await page.locator('tr[data-job] a').first().click();
  await page.locator('g.vertex').first().waitFor({ timeout: 60_000 });
  const graph = (await page.getByTestId('job-graph').textContent()) ?? '';
  for (const uid of ['greeting', 'shout', 'live-sink']) t.match(graph, uid, `the installed dashboard draws ${uid}`);
  t.same(browser.foreign, [], 'offline: nothing from another host');
  // its Cancel button ends the job, and floe exits while the page stays open (its websocket holds no process alive)
  await page.getByTestId('cancel-job').click();
  await until(() => !isRunning(pid()), `floe to end after the cancel:\n${log}`, 120_000);
  t.match(log, /job CANCELED/);
});

// Real processes on loopback: tasks running in TaskManagers show in the JobManager's REST API, live feed and inspector as embedded ones do; floe stop --drain ends a cluster job.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import t from 'tap';
import { WebSocket, WebSocketServer } from 'ws';
import { FloeRun, floe, outputLines, setGate, until } from '../helpers/cluster-run.ts';

const KEYS = 1000;
const ROUNDS = 5;
const GATE = 1500;

interface Vertex {
  id: string;
  name: string;
  parallelism: number;
}
interface Subtask {
  subtask: number;
  status: string;
  'taskmanager-id': string;
  'actor-state': string;
  name: string;
}

t.test(
  'floe run -p 2 --taskmanagers 2 --inspect: REST vertex and subtask views, the live feed and the inspector show the remote tasks; stop --drain finishes the job',
  async (t) => {
    const dir = t.testdir({ gate: '0', sp: {} });
    const inspector = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => inspector.once('listening', () => resolve()));
    t.teardown(() => new Promise<void>((resolve) => inspector.close(() => resolve())));
    const inspected = new Set<string>();
    let snapshots = 0;
    inspector.on('connection', (socket) =>
      socket.on('message', (data) => {
        const event = JSON.parse(String(data)) as { type: string; name?: string };
        if (event.type === '@xstate.actor') inspected.add(event.name!);
        if (event.type === '@xstate.snapshot') snapshots++;
      }),
    );
    const url = `ws://127.0.0.1:${(inspector.address() as { port: number }).port}`;

    const run = new FloeRun(
      dir,
      ['-p', '2', '--state-backend', 'fs', '--taskmanagers', '2', `--inspect=${url}`, '-D', `state.savepoints.dir=${join(dir, 'sp')}`],
      KEYS,
      ROUNDS,
    );
    t.teardown(() => void run.child.kill('SIGKILL'));
    await until(
      () => run.running && run.taskManagers.length === 2,
      'the job to run',
      () => run.log,
    );
    const jobId = run.jobId!;
    const { vertices } = await run.get<{ vertices: Vertex[] }>(`/jobs/${jobId}`);
    const count = vertices.find((v) => v.parallelism === 2)!;
    t.ok(count, 'a vertex at parallelism 2');

    // every subtask of every vertex, wherever it runs: RUNNING with its TaskManager and its actor's state
    let details: Record<string, Subtask[]> = {};
    await until(
      async () => {
        details = {};
        for (const v of vertices) details[v.id] = (await run.get<{ subtasks: Subtask[] }>(`/jobs/${jobId}/vertices/${v.id}`)).subtasks;
        return vertices.every((v) => details[v.id]!.length === v.parallelism && details[v.id]!.every((s) => s.status === 'RUNNING'));
      },
      'every subtask RUNNING over REST',
      () => `${JSON.stringify(details)}\n${run.log}`,
    );
    const subtasks = details[count.id]!;
    t.same(subtasks.map((s) => s.subtask).sort(), [0, 1]);
    t.ok(
      subtasks.every((s) => /^tm-\d+$/.test(s['taskmanager-id'])),
      'each subtask names its TaskManager',
    );
    t.equal(new Set(subtasks.map((s) => s['taskmanager-id'])).size, 2, 'the two subtasks run on two TaskManagers');
    t.ok(
      subtasks.every((s) => /^running\./.test(s['actor-state'])),
      `the task actors' live states: ${subtasks.map((s) => s['actor-state'])}`,
    );
    const overview = await run.get<{ jobs: Array<{ tasks: { running: number; total: number } }> }>('/jobs/overview');
    t.equal(overview.jobs[0]!.tasks.running, overview.jobs[0]!.tasks.total, 'the overview counts the remote tasks running');

    // the sampled metrics of remote tasks: every record the gate lets through reaches each vertex
    setGate(dir, GATE);
    const sink = vertices.at(-1)!;
    let sum = -1;
    await until(
      async () => {
        const metrics = await run.get<Array<{ id: string; sum: number }>>(
          `/jobs/${jobId}/vertices/${sink.id}/subtasks/metrics?get=numRecordsIn`,
        );
        sum = metrics[0]?.sum ?? -1;
        return sum === GATE;
      },
      `numRecordsIn of ${sink.name} to reach ${GATE}`,
      () => `sum ${sum}\n${run.log}`,
    );
    t.equal(sum, GATE, 'subtasks/metrics sums the remote subtasks');

    // the dashboard's live feed: a row per remote subtask
    const live = await new Promise<{ jobs: Array<{ vertices: Array<{ parallelism: number; subtasks: Array<{ state: unknown }> }> }> }>(
      (resolve, reject) => {
        const ws = new WebSocket(`${run.rest!.replace('http', 'ws')}/live`);
        ws.once('message', (data) => (ws.close(), resolve(JSON.parse(String(data)))));
        ws.once('error', reject);
      },
    );
    t.ok(
      live.jobs[0]!.vertices.every((v) => v.subtasks.length === v.parallelism),
      'the live feed shows every remote subtask',
    );

    // the inspector: the remote task actors by name, and their state changes
    await until(
      () => subtasks.every((s) => inspected.has(s.name)),
      'the inspector to see the remote tasks',
      () => `${[...inspected].join('\n')}\n${run.log}`,
    );
    t.ok(snapshots > 0, "the remote actors' snapshots reach the inspector");

    const stop = await floe(['stop', '--drain', jobId, '-m', run.rest!.replace('http://', '')]);
    if (!t.equal(stop.code, 0, 'floe stop --drain -m <the JobManager> exits 0')) t.comment(`${stop.stdout}${stop.stderr}\n${run.log}`);
    const path = /Path: (\S+)/.exec(stop.stdout)?.[1];
    t.ok(path && existsSync(join(path, '_metadata')), 'the drained savepoint is written');
    if (!t.equal((await run.exited).code, 0, 'floe run exits 0')) t.comment(run.log);
    t.match(run.log, /job FINISHED/);
    const expected = Array.from({ length: GATE }, (_, n) => `key-${n % KEYS} ${Math.floor(n / KEYS) + 1}`).sort();
    t.same(outputLines(dir), expected, 'everything read before the drain committed, exactly once');
  },
);

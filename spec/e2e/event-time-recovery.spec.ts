// End to end: event-time windows and their timers survive failures on every backend, aligned and unaligned: every window's count exactly once.
import { join } from 'node:path';
import t from 'tap';
import type { JobClient } from '../../src/index.ts';
import { EXPECTED, INPUT, visible, windowJob } from '../fixtures/window-job.ts';

for (const [backend, unaligned] of [
  ['memory', false],
  ['fs', false],
  ['level', false],
  ['level', true],
] as const) {
  t.test(`${backend}${unaligned ? ', unaligned' : ''}: a failure mid-run, every window's count exactly once`, async (t) => {
    const dir = t.testdir({ 'events.jsonl': INPUT });
    let completed = 0;
    const env = windowJob(
      t,
      dir,
      { backend, parallelism: 2, failAfter: 1, slowMs: 0.1, config: unaligned ? { 'execution.checkpointing.unaligned': true } : {} },
      { completed: () => completed },
    );
    const client: JobClient = await env.executeAsync(`windows-${backend}`);
    const restored: Array<number | null> = [];
    client.on('checkpoint-completed', () => completed++);
    client.on('running', ({ restoredFrom }) => restored.push(restoredFrom));
    const result = await client.getJobExecutionResult();
    t.equal(result.status, 'FINISHED');
    t.equal(result.restarts, 1, 'the injected failure restarted the job');
    t.ok(restored[1] !== null && restored[1] !== undefined, `the restart restored checkpoint ${restored[1]}`);
    const lines = visible(join(dir, 'out')).sort();
    t.equal(lines.length, EXPECTED.length, 'one line per user and window');
    t.same(lines, EXPECTED, 'every window once, with its exact count');
  });
}

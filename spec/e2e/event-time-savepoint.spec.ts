// End to end: stop with a savepoint while windows and timers are pending, resume at another parallelism on another backend: the output of a run without the stop; inspect shows the timers.
import { join } from 'node:path';
import { Command } from 'commander';
import t from 'tap';
import { registerSavepointCommand } from '../../src/cli/savepoint-command.ts';
import { Savepoint } from '../../src/index.ts';
import { EXPECTED, INPUT, visible, windowJob } from '../fixtures/window-job.ts';

for (const { from, to, fromBackend, toBackend } of [
  { from: 2, to: 3, fromBackend: 'memory', toBackend: 'level' },
  { from: 4, to: 1, fromBackend: 'level', toBackend: 'fs' },
]) {
  t.test(
    `stop with a savepoint while windows and timers are pending (${fromBackend}, parallelism ${from}), resume on ${toBackend} at ${to}: the output of a run without the stop`,
    async (t) => {
      const dir = t.testdir({ 'events.jsonl': INPUT });
      let completed = 0;
      const first = windowJob(
        t,
        dir,
        { backend: fromBackend, parallelism: from, slowMs: 0.4, config: { 'state.savepoints.dir': join(dir, 'savepoints') } },
        { completed: () => completed },
      );
      const client = await first.executeAsync('windows');
      await new Promise<void>((resolve) => client.on('checkpoint-completed', () => ++completed === 2 && resolve()));
      const path = await client.stopWithSavepoint(join(dir, 'savepoints'));
      t.equal((await client.getJobExecutionResult()).status, 'FINISHED');
      const partial = visible(join(dir, 'out')).length;
      t.ok(partial < EXPECTED.length, `stopped in the middle (${partial} of ${EXPECTED.length} windows out)`);
      const windows = (await (await Savepoint.load(path)).operators()).find((o) => o.uid === 'windows')!;
      const pending = windows.states.find((s) => s.name === '_timer_state/event_window-timers')!;
      t.ok(pending.entries > 0, `the savepoint holds ${pending.entries} pending window timers`);
      const printed: string[] = [];
      const program = new Command().exitOverride();
      registerSavepointCommand(program, (l) => printed.push(l));
      await program.parseAsync(['node', 'floe', 'savepoint', 'inspect', path]);
      t.ok(
        printed.includes(`    _timer_state/event_window-timers (timers): ${pending.entries} pending event-time timers of 'window-timers'`),
        'floe savepoint inspect shows the timer count',
      );
      const dumped: string[] = [];
      const dumper = new Command().exitOverride();
      registerSavepointCommand(dumper, (l) => dumped.push(l));
      await dumper.parseAsync([
        'node',
        'floe',
        'savepoint',
        'inspect',
        path,
        '--dump',
        'windows',
        '--state',
        '_timer_state/event_window-timers',
      ]);
      const listed = dumped.map((l) => JSON.parse(l) as { value: Array<[string, [number, string]]> }).flatMap((e) => e.value);
      t.equal(listed.length, pending.entries, '--dump lists every pending timer');
      t.ok(
        listed.every(([, [ts, key]]) => Number.isFinite(ts) && typeof key === 'string'),
        'each with its timestamp and key',
      );
      const second = windowJob(
        t,
        dir,
        { backend: toBackend, parallelism: to, slowMs: 0, config: { 'execution.savepoint.path': path } },
        { completed: () => 0 },
      );
      const resumed = await (await second.executeAsync('windows')).getJobExecutionResult();
      t.equal(resumed.status, 'FINISHED');
      t.same(visible(join(dir, 'out')).sort(), EXPECTED, 'every window once across both runs');
    },
  );
}

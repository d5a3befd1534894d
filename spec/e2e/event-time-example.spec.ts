// The bundled event-time example as a user runs it (floe run examples/event-time/job.ts): every event lands once, in its window's last result or in late/.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { check } from '../../examples/event-time/check.ts';
import { FloeRun, root } from '../helpers/floe-process.ts';

const EXAMPLE = join(root, 'examples/event-time');

for (const args of [[], ['-p', '2', '--state-backend', 'level', '--checkpoint-dir', 'chk']]) {
  t.test(`floe run examples/event-time/job.ts --checkpoint-interval 50ms ${args.join(' ')}`, async (t) => {
    // a copy inside the checkout: its counts/ and late/ are the spec's own, and `import 'floe'` resolves to this package
    const dir = t.testdir({});
    for (const f of ['job.ts', 'generate.ts', 'check.ts', 'events.jsonl']) copyFileSync(join(EXAMPLE, f), join(dir, f));
    const run = new FloeRun([join(dir, 'job.ts'), '--checkpoint-interval', '50ms', '--rest-port', '0', ...args], { cwd: dir });
    const { code } = await run.exited;
    t.equal(code, 0, run.log);
    t.match(run.log, /job FINISHED/);
    t.notMatch(run.log, /FLOE_UID_MISSING/, 'the example gives every operator a uid, as the README asks of jobs');
    const r = check(dir);
    t.equal(r.events, 3000);
    t.ok(r.firings >= r.windows - r.late, 'a result for every window that got on-time events');
    t.same(r.wrong, [], 'each event counted once: in its window or in late/');
  });
}

// End to end: event-time windows and their timers survive failures on every backend, aligned and unaligned: every window's count exactly once.
import t from 'tap';
import { EXPECTED, RECOVERY_MODES, checkRecovery } from '../fixtures/window-job.ts';

for (const [backend, unaligned] of RECOVERY_MODES) {
  t.test(`${backend}${unaligned ? ', unaligned' : ''}: a failure mid-run, every window's count exactly once`, (t) =>
    checkRecovery(t, backend, unaligned, EXPECTED),
  );
}

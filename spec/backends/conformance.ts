// The backend conformance suite: one function every state backend's spec runs, gated on the backend's feature manifest.
import t from 'tap';
import { createStateBackend } from '../../src/backends/state-backend-registry.ts';
import type { ConformanceSubject } from './conformance/harness.ts';
import { incremental } from './conformance/incremental.ts';
import { lifecycle } from './conformance/lifecycle.ts';
import { primitives } from './conformance/primitives.ts';
import { rescale } from './conformance/rescale.ts';
import { sizes } from './conformance/sizes.ts';
import { snapshots } from './conformance/snapshots.ts';
import { timers } from './conformance/timers.ts';
import { valueTypes } from './conformance/value-types.ts';

export type { ConformanceSubject } from './conformance/harness.ts';

/** The presets as subjects (cross-backend restores use the others). */
export const presets: ConformanceSubject[] = (['memory', 'fs', 'level'] as const).map((name) => ({
  name,
  backend: (options) => createStateBackend(name, options),
}));

export function runConformance(subject: ConformanceSubject): void {
  const features = subject.backend({}).features;
  primitives(t, subject);
  lifecycle(t, subject);
  snapshots(t, subject);
  rescale(
    t,
    subject,
    presets.filter((p) => p.name !== subject.name),
  );
  sizes(t, subject);
  valueTypes(
    t,
    subject,
    presets.filter((p) => p.name !== subject.name),
  );
  timers(
    t,
    subject,
    presets.filter((p) => p.name !== subject.name),
  );
  if (features.incremental)
    incremental(
      t,
      subject,
      presets.find((p) => p.name === 'memory')!,
    );
  else {
    t.test('no incremental checkpoints: the option is ignored, every snapshot is full', async (t) => {
      const { harness, snap, writeValues } = await import('./conformance/harness.ts');
      const h = harness(t, subject);
      const b = h.make({ incremental: true });
      await writeValues(b, [1, 2], (k) => k);
      const first = await snap(b, 1);
      b.notifyCheckpointComplete?.(1);
      t.not(first?.type, 'incremental');
      t.not((await snap(b, 2))?.type, 'incremental');
    });
  }
}

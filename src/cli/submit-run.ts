// `floe run job.ts -m host:port [--detached]`: submits the job to a standalone JobManager and follows it to its end.
import { basename, resolve } from 'node:path';
import type { Configuration } from '../config/configuration.ts';
import { RestClient } from './rest-client.ts';
import { onStopSignals } from './stop-signals.ts';

/** keys holding paths: made absolute here, so the JobManager and every TaskManager read the same place */
const PATH_KEYS = [
  'state.checkpoints.dir',
  'state.savepoints.dir',
  'execution.state-recovery.path',
  'state.backend.level.localdir',
] as const;

interface JobView {
  state: string;
}
interface CheckpointsView {
  counts: { completed: number; failed: number };
  latest?: { completed?: { id: number } | null };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function submitRun(
  jobPath: string,
  conf: Configuration,
  options: { jobmanager: string; token?: string; detached?: boolean },
  out: (line: string) => void,
  print: (line: string) => void,
): Promise<number> {
  for (const key of PATH_KEYS) {
    const value = conf.get(key);
    if (typeof value === 'string') conf.set(key, resolve(value));
  }
  const client = new RestClient({ jobmanager: options.jobmanager, ...(options.token ? { token: options.token } : {}) });
  const name = basename(jobPath).replace(/\.[cm]?[jt]sx?$/, '');
  const { jobid } = await client.request<{ jobid: string }>('POST', '/jobs', {
    'job-file': resolve(jobPath),
    'job-name': name,
    config: conf.toObject(),
  });
  if (options.detached) {
    out(`job '${name}' (${jobid}) submitted to ${options.jobmanager}`);
    print(jobid);
    return 0;
  }
  out(`job '${name}' (${jobid}) submitted to ${options.jobmanager}; Ctrl-C cancels it`);
  const signals = onStopSignals(() => void client.request('PATCH', `/jobs/${jobid}?mode=cancel`).catch(() => {}), out);
  try {
    let state = '';
    let completed = 0;
    for (;;) {
      const job = await client.request<JobView>('GET', `/jobs/${jobid}`);
      const checkpoints = await client.request<CheckpointsView>('GET', `/jobs/${jobid}/checkpoints`).catch(() => null);
      if (checkpoints && checkpoints.counts.completed > completed) {
        completed = checkpoints.counts.completed;
        out(`checkpoints completed: ${completed}${checkpoints.latest?.completed ? ` (latest ${checkpoints.latest.completed.id})` : ''}`);
      }
      if (job.state !== state) {
        state = job.state;
        out(`job ${jobid} ${state}`);
      }
      if (state === 'FINISHED') return 0;
      if (state === 'FAILED' || state === 'CANCELED') return 1;
      await sleep(500);
    }
  } finally {
    signals.dispose();
  }
}

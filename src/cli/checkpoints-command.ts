// `floe checkpoints <job-id>`: a running job's checkpoint history with per-subtask alignment (REST API).
import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { FloeError } from '../errors.ts';
import { formatBytes } from './reporter.ts';
import { addRemoteOptions, RestClient, type RemoteOptions } from './rest-client.ts';

interface SubtaskRow { vertex: string; index: number; alignment_duration: number; start_delay: number; sync_duration: number; async_duration: number; state_size: number }
interface CheckpointRow {
  id: number; status: string; checkpoint_type: string; end_to_end_duration: number; state_size: number;
  max_alignment_duration: number; failure_message?: string; subtasks: SubtaskRow[];
}

const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(0)} ms`;

export function registerCheckpointsCommand(program: Command, print: (line: string) => void): void {
  addRemoteOptions(
    program
      .command('checkpoints')
      .description("a running job's checkpoint history with per-subtask alignment times")
      .argument('<job-id>'),
  ).action(async (jobId: string, options: RemoteOptions) => {
    if (existsSync(jobId) && statSync(jobId).isDirectory()) {
      // the offline form (a checkpoint directory) belongs to the file checkpoint storage: it plugs in here
      throw new FloeError('FLOE_CHECKPOINTS_OFFLINE_UNAVAILABLE', `${jobId} is a directory: reading checkpoint directories offline needs the file checkpoint storage`, {
        hint: 'pass the id of a running job (floe list shows them)',
      });
    }
    const view = await new RestClient(options).request<{ counts: Record<string, number>; history: CheckpointRow[] }>('GET', `/jobs/${encodeURIComponent(jobId)}/checkpoints`);
    const c = view.counts;
    print(`checkpoints of ${jobId}: ${c.completed} completed, ${c.failed} failed, ${c.in_progress} in progress, ${c.restored} restored`);
    for (const cp of view.history) {
      const kind = cp.checkpoint_type === 'SAVEPOINT' ? 'savepoint' : 'checkpoint';
      print(`${kind} ${cp.id} ${cp.status}: ${ms(cp.end_to_end_duration)}, ${formatBytes(cp.state_size)}, max alignment ${ms(cp.max_alignment_duration)}${cp.failure_message ? ` — ${cp.failure_message}` : ''}`);
      for (const s of cp.subtasks) {
        print(`  ${s.vertex}#${s.index}: alignment ${ms(s.alignment_duration)}, start delay ${ms(s.start_delay)}, sync ${ms(s.sync_duration)}, async ${ms(s.async_duration)}, ${formatBytes(s.state_size)}`);
      }
    }
  });
}

// `floe checkpoints`: a running job's checkpoint history over REST (`<job-id>`), or a job's checkpoints on disk read offline (`<checkpoint-dir> [job-id]`).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CheckpointError } from '../errors.ts';
import { jobIdsIn, listCheckpoints } from '../storage/checkpoint-listing.ts';
import { count, formatBytes } from './reporter.ts';
import {
  addRemoteOptions,
  RestClient,
  type CheckpointsResponse,
  type JobDetailsResponse,
  type RemoteOptions,
  type SubtaskCheckpointsResponse,
} from './rest-client.ts';

const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(0)} ms`;

/** Whether `arg` names a checkpoint directory on disk (the offline form) rather than a job id (a REST form may come later). */
export function isDirectoryArgument(arg: string): boolean {
  return existsSync(arg) && statSync(arg).isDirectory();
}

export async function printCheckpoints(dir: string, jobId: string | undefined, print: (line: string) => void): Promise<void> {
  const jobs = jobId ? [jobId] : jobIdsIn(dir);
  if (jobId && !existsSync(join(dir, jobId))) {
    throw new CheckpointError('FLOE_CHECKPOINT_NOT_FOUND', `no checkpoints of job ${jobId} in ${dir}`, {
      hint: `run floe checkpoints ${dir} to list the jobs it holds`,
    });
  }
  if (jobs.length === 0) print(`no job checkpoints in ${dir}`);
  for (const job of jobs) {
    const list = await listCheckpoints(join(dir, job));
    print(`job ${job}: ${count(list.length, 'checkpoint')}`);
    for (const c of list) {
      if (c.problem) {
        print(`  chk-${c.id}  unusable: ${c.problem}`);
        continue;
      }
      const shared = c.sharedFiles.length === 0 ? '' : `  shared: ${c.sharedFiles.join(', ')}`;
      print(
        `  chk-${c.id}  ${new Date(c.timestamp!).toISOString()}  ${formatBytes(c.size).padStart(10)}  ${c.incremental ? 'incremental' : 'full'}${shared}`,
      );
    }
  }
}

/** Registers the command on the program. */
export function registerCheckpointsCommand(program: Command, print: (line: string) => void): void {
  addRemoteOptions(
    program
      .command('checkpoints')
      .description(
        "a running job's checkpoint history with per-subtask alignment (by job id, over REST), or the checkpoints a job left on disk (by directory: id, time, size, full or incremental, shared files)",
      )
      .argument('<job-id|checkpoint-dir>', "a running job's id (floe list), or the directory given as --checkpoint-dir")
      .argument('[job-id]', 'with a directory: only this job (default: every job in it)'),
  ).action(async (target: string, jobFilter: string | undefined, options: RemoteOptions) => {
    if (isDirectoryArgument(target)) return printCheckpoints(target, jobFilter, print);
    if (/[\\/]/.test(target) || target.startsWith('.')) {
      throw new CheckpointError('FLOE_CHECKPOINT_NOT_FOUND', `${target} is not a checkpoint directory`, {
        hint: "pass the directory given as --checkpoint-dir (state.checkpoints.dir), or a running job's id",
      });
    }
    const jobId = target;
    const client = new RestClient(options);
    const job = `/jobs/${encodeURIComponent(jobId)}`;
    const view = await client.request<CheckpointsResponse>('GET', `${job}/checkpoints`);
    const { vertices } = await client.request<JobDetailsResponse>('GET', job);
    const c = view.counts;
    print(`checkpoints of ${jobId}: ${c.completed} completed, ${c.failed} failed, ${c.in_progress} in progress, ${c.restored} restored`);
    // Flink's shape keeps subtasks per vertex: one request per checkpoint and vertex, all at once (the job keeps
    // checkpointing meanwhile: one that left the job's recent history since is printed without them)
    const details = await Promise.all(
      view.history.map((cp) =>
        Promise.all(
          vertices.map((v) =>
            client
              .request<SubtaskCheckpointsResponse>('GET', `${job}/checkpoints/details/${cp.id}/subtasks/${v.id}`)
              .catch((error: unknown) => {
                if ((error as { code?: string }).code === 'FLOE_CHECKPOINT_NOT_FOUND')
                  return { subtasks: [] } as SubtaskCheckpointsResponse;
                throw error;
              }),
          ),
        ),
      ),
    );
    view.history.forEach((cp, i) => {
      const kind = cp.checkpoint_type === 'SAVEPOINT' ? 'savepoint' : 'checkpoint';
      print(
        `${kind} ${cp.id} ${cp.status}: ${ms(cp.end_to_end_duration)}, ${formatBytes(cp.state_size)}, max alignment ${ms(cp.max_alignment_duration)}${cp.failure_message ? ` — ${cp.failure_message}` : ''}`,
      );
      for (const s of details[i]!.flatMap((v) => v.subtasks)) {
        if (s.status !== 'completed') continue;
        print(
          `  ${s.name}: alignment ${ms(s.alignment.duration)}, start delay ${ms(s.start_delay)}, sync ${ms(s.checkpoint.sync)}, async ${ms(s.checkpoint.async)}, ${formatBytes(s.state_size)}`,
        );
      }
    });
  });
}

// `floe checkpoints <checkpoint-dir> [job-id]`: lists the checkpoints a job left on disk, read offline.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CheckpointError } from '../errors.ts';
import { jobIdsIn, listCheckpoints } from '../storage/checkpoint-listing.ts';
import { formatBytes } from './reporter.ts';

/** Whether `arg` names a checkpoint directory on disk (the offline form) rather than a job id (a REST form may come later). */
export function isDirectoryArgument(arg: string): boolean {
  return existsSync(arg) && statSync(arg).isDirectory();
}

export async function printCheckpoints(dir: string, jobId: string | undefined, print: (line: string) => void): Promise<void> {
  const jobs = jobId ? [jobId] : jobIdsIn(dir);
  if (jobId && !existsSync(join(dir, jobId))) {
    throw new CheckpointError('FLOE_CHECKPOINT_NOT_FOUND', `no checkpoints of job ${jobId} in ${dir}`, { hint: `run floe checkpoints ${dir} to list the jobs it holds` });
  }
  if (jobs.length === 0) print(`no job checkpoints in ${dir}`);
  for (const job of jobs) {
    const list = await listCheckpoints(join(dir, job));
    print(`job ${job}: ${list.length} checkpoint(s)`);
    for (const c of list) {
      if (c.problem) {
        print(`  chk-${c.id}  unusable: ${c.problem}`);
        continue;
      }
      const shared = c.sharedFiles.length === 0 ? '' : `  shared: ${c.sharedFiles.join(', ')}`;
      print(`  chk-${c.id}  ${new Date(c.timestamp!).toISOString()}  ${formatBytes(c.size).padStart(10)}  ${c.incremental ? 'incremental' : 'full'}${shared}`);
    }
  }
}

/** Registers the command on the program. */
export function registerCheckpointsCommand(program: Command, print: (line: string) => void): void {
  program
    .command('checkpoints')
    .description("list a job's checkpoints on disk: id, time, size, full or incremental, the shared files each references")
    .argument('<checkpoint-dir>', 'the directory given as --checkpoint-dir (state.checkpoints.dir)')
    .argument('[job-id]', 'only this job (default: every job in the directory)')
    .action(async (dir: string, jobId: string | undefined) => {
      if (!isDirectoryArgument(dir)) {
        throw new CheckpointError('FLOE_CHECKPOINT_NOT_FOUND', `${dir} is not a checkpoint directory`, { hint: 'pass the directory given as --checkpoint-dir (state.checkpoints.dir)' });
      }
      await printCheckpoints(dir, jobId, print);
    });
}

// `floe stop [--drain] --savepoint-path <dir> <job-id>`: savepoint, then stop; the job runs on if the savepoint fails.
import type { Command } from 'commander';
import { jobmanagerFlag, shellWord } from './cli-hints.ts';
import { addRemoteOptions, RestClient, type RemoteOptions } from './rest-client.ts';

export function registerStopCommand(program: Command, print: (line: string) => void): void {
  addRemoteOptions(
    program
      .command('stop')
      .description('take a savepoint, then stop the job (sinks commit); if the savepoint fails the job keeps running')
      .argument('<job-id>', 'id of a running job (floe list shows it)')
      .option('-p, --savepoint-path <dir>', 'target directory (default state.savepoints.dir of the server)')
      .option(
        '-d, --drain',
        'end the input first: sources stop reading, every operator flushes, then the final savepoint; sinks commit everything read and the job ends FINISHED (use it to end a job for good, not to resume it)',
      ),
  ).action(async (jobId: string, options: RemoteOptions & { savepointPath?: string; drain?: boolean }) => {
    const again = `floe stop${jobmanagerFlag(options.jobmanager)}${options.drain ? ' --drain' : ''}`;
    const client = new RestClient(options, {
      target: options.savepointPath,
      withTarget: (dir) => `${again} --savepoint-path ${dir} ${shellWord(jobId)}`,
    });
    const body: Record<string, unknown> = { drain: options.drain ?? false };
    if (options.savepointPath) body.targetDirectory = options.savepointPath;
    const { 'request-id': id } = await client.request<{ 'request-id': string }>('POST', `/jobs/${encodeURIComponent(jobId)}/stop`, body);
    print(`Savepoint completed. Path: ${await client.awaitSavepoint(jobId, id)}`);
  });
}

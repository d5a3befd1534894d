// `floe cancel [-s [dir]] <job-id>`: cancel a job, optionally after a savepoint (all-or-nothing).
import type { Command } from 'commander';
import { jobmanagerFlag, shellWord } from './cli-hints.ts';
import { addRemoteOptions, RestClient, type RemoteOptions } from './rest-client.ts';

export function registerCancelCommand(program: Command, print: (line: string) => void): void {
  addRemoteOptions(
    program
      .command('cancel')
      .description('cancel a job; with -s, take a savepoint first (the job keeps running if it fails)')
      .argument('<job-id>')
      .option('-s, --with-savepoint [dir]', 'savepoint first, into dir (default state.savepoints.dir of the server)'),
  ).action(async (jobId: string, options: RemoteOptions & { withSavepoint?: string | true }) => {
    const target = typeof options.withSavepoint === 'string' ? options.withSavepoint : undefined;
    const client = new RestClient(options, {
      target,
      withTarget: (dir) => `floe cancel${jobmanagerFlag(options.jobmanager)} -s ${dir} ${shellWord(jobId)}`,
    });
    const path = `/jobs/${encodeURIComponent(jobId)}`;
    if (options.withSavepoint === undefined) {
      await client.request('PATCH', `${path}?mode=cancel`);
      return print(`Cancelled job ${jobId}.`);
    }
    const body: Record<string, unknown> = { 'cancel-job': true };
    if (target !== undefined) body['target-directory'] = target;
    const { 'request-id': id } = await client.request<{ 'request-id': string }>('POST', `${path}/savepoints`, body);
    print(`Cancelled job ${jobId}. Savepoint stored in ${await client.awaitSavepoint(jobId, id)}.`);
  });
}

// `floe list`: the jobs of a running floe, with id, name, status and start time.
import type { Command } from 'commander';
import { addRemoteOptions, RestClient, type JobsOverviewResponse, type RemoteOptions } from './rest-client.ts';

export function registerListCommand(program: Command, print: (line: string) => void): void {
  addRemoteOptions(program.command('list').description('list the jobs of a running floe (REST API)')).action(
    async (options: RemoteOptions) => {
      const { jobs } = await new RestClient(options).request<JobsOverviewResponse>('GET', '/jobs/overview');
      if (jobs.length === 0) return print('no jobs');
      for (const j of jobs) print(`${new Date(j['start-time']).toISOString()} : ${j.jid} : ${j.name} (${j.state})`);
    },
  );
}

// `floe list`: the jobs of a running floe, with id, name, status and start time.
import type { Command } from 'commander';
import { addRemoteOptions, RestClient, type RemoteOptions } from './rest-client.ts';

/** a row of GET /jobs/overview (Flink's JobDetails) */
interface JobRow { jid: string; name: string; state: string; 'start-time': number }

export function registerListCommand(program: Command, print: (line: string) => void): void {
  addRemoteOptions(program.command('list').description('list the jobs of a running floe (REST API)')).action(async (options: RemoteOptions) => {
    const { jobs } = await new RestClient(options).request<{ jobs: JobRow[] }>('GET', '/jobs/overview');
    if (jobs.length === 0) return print('no jobs');
    for (const j of jobs) print(`${new Date(j['start-time']).toISOString()} : ${j.jid} : ${j.name} (${j.state})`);
  });
}

// `floe jobmanager [--rest-port 8081] [-D ...]`: a standalone JobManager: REST API, job submission, checkpoint coordination; TaskManagers register at its REST address.
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import type { JobClient } from '../api/job-client.ts';
import { StreamExecutionEnvironment } from '../api/stream-execution-environment.ts';
import { clusterView } from '../cluster/cluster-views.ts';
import { JobManagerEndpoint } from '../cluster/job-manager-endpoint.ts';
import { RemoteExecution } from '../cluster/remote-execution.ts';
import { Configuration, parseDynamicProperty } from '../config/configuration.ts';
import { loadConfigFile } from '../config/load-config.ts';
import { ConfigError, FloeError } from '../errors.ts';
// the REST server (fastify) is loaded when a JobManager starts, not at every start of the CLI (a TaskManager never needs it)
import type { JobSubmission, RestServerOptions } from '../server/rest-server.ts';
import { buildJob, loadJob } from './load-job.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const TERMINAL = new Set(['FINISHED', 'FAILED', 'CANCELED']);

export function registerJobManagerCommand(program: Command, out: (line: string) => void): void {
  program
    .command('jobmanager')
    .description(
      'run a standalone JobManager: REST API, job submission (floe run -m), checkpoint coordination; TaskManagers register at its REST address',
    )
    .option('--rest-port <n>', "port of the REST API and of the TaskManagers' endpoint (rest.port, default 8081)")
    .option('-c, --config <file>', 'YAML file with configuration keys')
    .option('-D, --define <key=value>', 'set a configuration key (repeatable)', collect)
    .action(async (options: { restPort?: string; config?: string; define?: string[] }) => {
      const { isLoopback, JobRegistry, startRestServer } = await import('../server/rest-server.ts');
      const conf = options.config ? await loadConfigFile(options.config) : new Configuration();
      for (const property of options.define ?? []) conf.set(...parseDynamicProperty(property));
      if (options.restPort !== undefined) conf.set('rest.port', options.restPort);
      const address = conf.get('rest.address');
      const token = conf.get('cluster.auth-token');
      if (!isLoopback(address) && !token) {
        throw new ConfigError(
          'FLOE_CLUSTER_TOKEN_REQUIRED',
          `the JobManager would take TaskManagers on ${address}, reachable from other hosts, without cluster.auth-token`,
          {
            hint: 'set -D cluster.auth-token=... (and give every TaskManager the same), or keep rest.address on 127.0.0.1',
          },
        );
      }
      let endpoint!: JobManagerEndpoint;
      let current: JobClient | undefined;
      // one job at a time: a TaskManager runs the subtasks of one job
      const submit = async ({ jobFile, config, jobName }: JobSubmission): Promise<JobClient> => {
        if (current && !TERMINAL.has(current.getJobStatus())) {
          throw new FloeError(
            'FLOE_CLUSTER_BUSY',
            `this JobManager runs job ${current.jobId} (${current.getJobStatus()}); it takes one job at a time`,
            { hint: 'wait for it to end, or cancel it: floe cancel -m <host:port> <job-id>' },
          );
        }
        const file = resolve(jobFile);
        const env = new StreamExecutionEnvironment(conf.merge(new Configuration(config)));
        await buildJob(await loadJob(file), env, file);
        env.setExecution(
          (o) =>
            new RemoteExecution(o, endpoint, {
              jobFile: file,
              config: env.config.toObject(),
              slotRequestTimeoutMs: env.config.get('slot.request.timeout'),
            }),
        );
        current = await env.executeAsync(jobName ?? basename(file).replace(/\.[cm]?[jt]sx?$/, ''));
        current.getJobExecutionResult().then(
          (r) => out(`job ${r.jobId} ${r.status} in ${(r.durationMs / 1000).toFixed(2)} s`),
          (e: unknown) => out(`job ${current?.jobId} FAILED: ${(e as Error).message}`),
        );
        out(`job ${current.jobId} submitted: ${file}`);
        return current;
      };
      const restOptions: RestServerOptions = {
        address,
        port: conf.get('rest.port'),
        authToken: conf.get('rest.auth-token'),
        allowedDirs: [conf.get('state.savepoints.dir') ?? process.cwd()],
        savepointsDir: conf.get('state.savepoints.dir'),
        bodyLimit: conf.get('rest.server.max-content-length'),
        submit,
      };
      const { app, port } = await startRestServer(new JobRegistry(), restOptions);
      endpoint = new JobManagerEndpoint({
        server: app.server,
        host: address,
        heartbeatIntervalMs: conf.get('heartbeat.interval'),
        heartbeatTimeoutMs: conf.get('heartbeat.timeout'),
        ...(token ? { token } : {}),
      });
      await endpoint.start();
      restOptions.cluster = clusterView(endpoint);
      endpoint.on('registered', (tm) =>
        out(`TaskManager ${tm.id} registered: ${tm.slots} slot${tm.slots === 1 ? '' : 's'}, pid ${tm.pid}, data at ${tm.data}`),
      );
      endpoint.on('lost', (tm, reason) => out(`TaskManager ${tm.id} lost: ${reason}`));
      const at = `${address}:${port}`;
      out(`JobManager listening on http://${at} (REST API and TaskManagers), pid ${process.pid}`);
      out(`  start TaskManagers: floe taskmanager --jobmanager ${at} --slots 2`);
      out(`  submit a job:       floe run job.ts -m ${at}`);
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      out('JobManager stopping');
      if (current && !TERMINAL.has(current.getJobStatus())) await current.cancel().catch(() => {});
      await endpoint.close();
      await app.close();
    });
}

// `floe taskmanager --jobmanager host:port [--slots K]`: a TaskManager process that runs the subtasks a JobManager deploys to it.
import type { Command } from 'commander';
import { StreamExecutionEnvironment } from '../api/stream-execution-environment.ts';
import { TaskManager, type JobLoader } from '../cluster/task-manager.ts';
import { Configuration, parseDynamicProperty } from '../config/configuration.ts';
import { buildJob, loadJob } from './load-job.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The job file runs here too (its operators are code): the same graph as the JobManager's, from the same configuration. */
export const loadJobGraph: JobLoader = async (jobFile, config) => {
  const job = await loadJob(jobFile);
  const env = new StreamExecutionEnvironment(new Configuration(config));
  await buildJob(job, env, jobFile);
  return { graph: env.getJobGraph(), config: env.config };
};

export function registerTaskManagerCommand(program: Command, out: (line: string) => void, setExit: (code: number) => void): void {
  program
    .command('taskmanager')
    .description('run a TaskManager: registers its slots with a JobManager and runs the subtasks deployed to it')
    .requiredOption('--jobmanager <host:port>', "the JobManager's cluster address")
    .option('--slots <k>', 'task slots (taskmanager.numberOfTaskSlots, default 1)')
    .option('-D, --define <key=value>', 'set a configuration key (repeatable)', collect)
    .option(
      '--host <address>',
      'address the data port binds and other TaskManagers dial (default 127.0.0.1; a host name or IP other hosts reach, for a cluster over several hosts)',
    )
    .option(
      '--preload <job>',
      'import this job file while registering, so the first deploy finds it loaded (floe run --taskmanagers passes its job)',
    )
    .action(async (options: { jobmanager: string; slots?: string; define?: string[]; preload?: string; host?: string }) => {
      // the job file's import (and floe's modules under it) overlaps the registration; a failure shows at deploy
      if (options.preload) void loadJob(options.preload).catch(() => {});
      const conf = new Configuration();
      for (const property of options.define ?? []) conf.set(...parseDynamicProperty(property));
      if (options.slots !== undefined) conf.set('taskmanager.numberOfTaskSlots', options.slots);
      const tm = new TaskManager({
        jobManager: options.jobmanager,
        slots: conf.get('taskmanager.numberOfTaskSlots'),
        loadJob: loadJobGraph,
        token: conf.get('cluster.auth-token'),
        ...(options.host ? { host: options.host } : {}),
      });
      // a TaskManager lives as long as its connection to the JobManager
      const ended = new Promise<string>((resolve) => tm.once('disconnected', resolve));
      try {
        await tm.start();
      } catch (error) {
        await tm.close().catch(() => {}); // its data port must not keep the process alive
        throw error;
      }
      await ended;
      await tm.close().catch(() => {});
      setExit(0);
      // tasks' timers and open files must not keep a TaskManager without a JobManager alive
      setImmediate(() => process.exit(0));
    });
  void out;
}

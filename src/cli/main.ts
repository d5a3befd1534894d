// The floe command line: `floe run job.ts [options]`.
import { basename } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { StreamExecutionEnvironment } from '../api/stream-execution-environment.ts';
import { DEFAULT_INSPECT_URL } from '../api/inspection.ts';
import { Configuration, parseDynamicProperty } from '../config/configuration.ts';
import { loadConfigFile } from '../config/load-config.ts';
import { FloeError } from '../errors.ts';
import { loadJob } from './load-job.ts';
import { attachReporter } from './reporter.ts';
import { serveRest } from './serve-rest.ts';
import { registerCancelCommand } from './cancel-command.ts';
import { registerCheckpointsCommand } from './checkpoints-command.ts';
import { registerListCommand } from './list-command.ts';
import { registerSavepointCommand } from './savepoint-command.ts';
import { registerStopCommand } from './stop-command.ts';

interface RunOptions {
  parallelism?: string;
  checkpointInterval?: string;
  checkpointingMode?: string;
  stateBackend?: string;
  config?: string;
  define: string[];
  inspect?: string | true;
  quiet?: boolean;
  fromSavepoint?: string;
  allowNonRestoredState?: boolean;
  restoreMode?: string;
  restPort?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Builds the configuration: config file, then -D properties, then flags (later wins). */
async function configurationFrom(options: RunOptions): Promise<Configuration> {
  let conf = options.config ? await loadConfigFile(options.config) : new Configuration();
  for (const property of options.define) {
    const [key, value] = parseDynamicProperty(property);
    conf.set(key, value);
  }
  const flags: Record<string, string | undefined> = {
    'parallelism.default': options.parallelism,
    'execution.checkpointing.interval': options.checkpointInterval,
    'execution.checkpointing.mode': options.checkpointingMode,
    'state.backend.type': options.stateBackend,
    'execution.savepoint.path': options.fromSavepoint,
    'execution.savepoint.ignore-unclaimed-state': options.allowNonRestoredState ? 'true' : undefined,
    'execution.savepoint-restore-mode': options.restoreMode,
    'rest.port': options.restPort,
  };
  for (const [key, value] of Object.entries(flags)) if (value !== undefined) conf.set(key, value);
  return conf;
}

async function run(jobPath: string, options: RunOptions, out: (line: string) => void): Promise<number> {
  const conf = await configurationFrom(options);
  const job = await loadJob(jobPath);
  const env = new StreamExecutionEnvironment(conf);
  if (options.inspect !== undefined) env.setInspector(options.inspect === true ? DEFAULT_INSPECT_URL : options.inspect);
  await job(env);
  const client = await env.executeAsync(basename(jobPath).replace(/\.[cm]?[jt]s$/, ''));
  if (client.generatedUids.length > 0) {
    out(`warning: ${client.generatedUids.length} operator(s) have no .uid(...): ${client.generatedUids.join(', ')} — their state cannot be matched safely once the job changes`);
  }
  attachReporter(client, { checkpoints: !options.quiet, write: out });
  if (client.restoredFrom) {
    const skipped = client.restoredFrom.nonRestored;
    out(`restoring from savepoint ${client.restoredFrom.path}${skipped.length ? ` (state of ${skipped.join(', ')} not restored)` : ''}`);
    if (client.restoredFrom.drained) out('warning: this savepoint was taken by `stop --drain`: its operators already flushed their end of input, so results they emitted then may be emitted again');
  }
  const closeRest = await serveRest(client, conf, out);
  const stop = () => void client.cancel();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const result = await client.getJobExecutionResult();
    out(`job ${result.status} in ${(result.durationMs / 1000).toFixed(2)} s: ${result.checkpoints.completed} checkpoints completed, ${result.checkpoints.failed} failed, ${result.restarts} restarts`);
    return result.status === 'FINISHED' ? 0 : 1;
  } finally {
    await closeRest();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export function buildProgram(out: (line: string) => void, setExit: (code: number) => void): Command {
  const program = new Command('floe')
    .description('Stream processing for Node.js with Flink\'s fault tolerance: task actors, barrier checkpoints, exactly-once recovery')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('run')
    .description('run a job file whose default export builds the pipeline: export default function job(env) { ... }')
    .argument('<job>', 'job file (.ts or .js)')
    .option('-p, --parallelism <n>', 'default parallelism (parallelism.default)')
    .option('--checkpoint-interval <duration>', 'checkpoint every 500ms, 1s, ... (execution.checkpointing.interval); off when not set')
    .addOption(new Option('--checkpointing-mode <mode>', 'execution.checkpointing.mode').choices(['exactly-once', 'at-least-once']))
    .addOption(new Option('--state-backend <type>', 'state.backend.type').choices(['memory', 'fs', 'level']))
    .option('-c, --config <file>', 'YAML file with configuration keys (Flink\'s names)')
    .option('-D, --define <key=value>', 'set a configuration key, e.g. -D execution.checkpointing.timeout=1min (repeatable)', collect, [])
    .option('--inspect [url]', `stream the task actors' state changes to an xstate inspector (default ${DEFAULT_INSPECT_URL})`)
    .option('-q, --quiet', 'do not print every completed checkpoint')
    .option('-s, --from-savepoint <path>', 'restore from a savepoint directory (execution.savepoint.path)')
    .option('--allow-non-restored-state', 'skip savepoint state that matches no operator uid of the job')
    .addOption(new Option('--restore-mode <mode>', 'execution.savepoint-restore-mode').choices(['no-claim', 'claim']))
    .option('--rest-port <n>', 'port of the REST API (rest.port, default 8081; 0 picks a free one)')
    .action(async (job: string, options: RunOptions) => setExit(await run(job, options, out)));
  const print = (line: string) => process.stdout.write(`${line}\n`);
  registerListCommand(program, print);
  registerSavepointCommand(program, print);
  registerStopCommand(program, print);
  registerCancelCommand(program, print);
  registerCheckpointsCommand(program, print);
  return program;
}

/** Runs the CLI; returns the exit code. User errors print `error CODE: message` and a hint, not a stack. */
export async function main(argv: string[], out: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<number> {
  let code = 0;
  const program = buildProgram(out, (c) => (code = c));
  program.configureOutput({ writeErr: (s) => out(s.trimEnd()), writeOut: (s) => process.stdout.write(s) });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof FloeError) {
      out(`error ${error.code}: ${error.message}`);
      if (error.hint) out(`hint: ${error.hint}`);
      return 1;
    }
    throw error;
  }
}

// The floe command line: `floe run job.ts [options]`.
import { basename } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { StreamExecutionEnvironment } from '../api/stream-execution-environment.ts';
import { DEFAULT_INSPECT_URL } from '../api/inspection.ts';
import { Configuration, parseDynamicProperty } from '../config/configuration.ts';
import { loadConfigFile } from '../config/load-config.ts';
import { FloeError } from '../errors.ts';
import { registerCheckpointsCommand } from './checkpoints-command.ts';
import { loadJob } from './load-job.ts';
import { attachReporter } from './reporter.ts';
import { serveRest } from './serve-rest.ts';
import { registerCancelCommand } from './cancel-command.ts';
import { registerListCommand } from './list-command.ts';
import { registerSavepointCommand } from './savepoint-command.ts';
import { registerStopCommand } from './stop-command.ts';
import { registerBenchCommand } from './bench-command.ts';

interface RunOptions {
  parallelism?: string;
  checkpointInterval?: string;
  checkpointingMode?: string;
  stateBackend?: string;
  checkpointDir?: string;
  fromCheckpoint?: string;
  config?: string;
  define?: string[];
  inspect?: string | true;
  quiet?: boolean;
  fromSavepoint?: string;
  allowNonRestoredState?: boolean;
  restoreMode?: string;
  restPort?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Builds the configuration: config file, then -D properties, then flags (later wins). */
async function configurationFrom(options: RunOptions): Promise<Configuration> {
  let conf = options.config ? await loadConfigFile(options.config) : new Configuration();
  for (const property of options.define ?? []) {
    const [key, value] = parseDynamicProperty(property);
    conf.set(key, value);
  }
  const flags: Record<string, string | undefined> = {
    'parallelism.default': options.parallelism,
    'execution.checkpointing.interval': options.checkpointInterval,
    'execution.checkpointing.mode': options.checkpointingMode,
    'state.backend.type': options.stateBackend,
    'state.checkpoints.dir': options.checkpointDir,
    'execution.state-recovery.path': options.fromSavepoint ?? options.fromCheckpoint,
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
  if (options.inspect !== undefined) {
    env.setInspector(options.inspect === true ? DEFAULT_INSPECT_URL : options.inspect, { onConnected: (url) => out(`inspector connected: ${url}`) });
  }
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
    .exitOverride();

  program
    .command('run')
    .description('run a job file whose default export builds the pipeline: export default function job(env) { ... }')
    .argument('<job>', 'job file (.ts or .js)')
    .option('-p, --parallelism <n>', 'default parallelism (parallelism.default)')
    .option('--checkpoint-interval <duration>', 'checkpoint every 500ms, 1s, ... (execution.checkpointing.interval); off when not set')
    .addOption(new Option('--checkpointing-mode <mode>', 'execution.checkpointing.mode').choices(['exactly-once', 'at-least-once']))
    .addOption(new Option('--state-backend <type>', 'where keyed state lives: memory or fs (JS heap), level (LevelDB on disk, for state larger than the heap) (state.backend.type)').choices(['memory', 'fs', 'level']))
    .option('--checkpoint-dir <dir>', 'where checkpoint files go (state.checkpoints.dir); required for fs and level')
    .option('-s, --from-savepoint <path>', 'start from a savepoint directory, or a retained checkpoint (execution.state-recovery.path)')
    .option('--from-checkpoint <dir>', 'start from a retained checkpoint: <checkpoint-dir>/<job-id>/chk-<n>, or a job\'s directory (its newest usable one)')
    .option('-c, --config <file>', 'YAML file with configuration keys (Flink\'s names)')
    .option('-D, --define <key=value>', 'set a configuration key, e.g. -D execution.checkpointing.timeout=1min (repeatable)', collect)
    .option('--inspect [url]', `stream the task actors' state changes to an xstate inspector (default ${DEFAULT_INSPECT_URL})`)
    .option('-q, --quiet', 'do not print every completed checkpoint')
    .option('--allow-non-restored-state', 'skip savepoint state that matches no operator uid of the job')
    .addOption(new Option('--restore-mode <mode>', 'execution.savepoint-restore-mode').choices(['no-claim', 'claim']))
    .option('--rest-port <n>', 'port of the REST API (rest.port, default 8081; 0 picks a free one)')
    .addHelpText('after', `
Examples:
  floe run examples/wordcount/job.ts --checkpoint-interval 500ms -p 2
  floe run job.ts -D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=3
  floe run job.ts -c floe.yaml --inspect=ws://localhost:8080
  floe run job.ts --state-backend level --checkpoint-dir chk/ --checkpoint-interval 10s -D state.backend.incremental=true
  floe run job.ts --state-backend level --checkpoint-dir chk/ -s chk/<job-id>   # resume a killed run (floe checkpoints chk/ lists them)

Configuration keys are Flink's (execution.checkpointing.*, state.backend.*, restart-strategy.*):
see "Options" in floe's README. Unknown keys and bad values are refused before the job starts.`)
    .action(async (job: string, options: RunOptions) => setExit(await run(job, options, out)));
  const print = (line: string) => process.stdout.write(`${line}\n`);
  registerListCommand(program, print);
  registerSavepointCommand(program, print);
  registerStopCommand(program, print);
  registerCancelCommand(program, print);
  registerCheckpointsCommand(program, print);
  registerBenchCommand(program, (line) => process.stdout.write(`${line}\n`), setExit);
  return program;
}

/** Runs the CLI; returns the exit code. User errors print `error CODE: message` and a hint, not a stack. */
export async function main(argv: string[], out: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<number> {
  let code = 0;
  const program = buildProgram(out, (c) => (code = c));
  // commander's own errors (unknown option, missing argument) are printed in the catch below, in floe's format
  const output = { writeErr: (s: string) => out(s.trimEnd()), writeOut: (s: string) => void process.stdout.write(s), outputError: () => {} };
  for (const command of [program, ...program.commands]) command.configureOutput(output);
  try {
    await program.parseAsync(argv);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0 || error.code === 'commander.help' || error.code === 'commander.helpDisplayed') return error.exitCode;
      out(`error FLOE_USAGE: ${error.message.replace(/^error: /, '')}`);
      out(argv[2] === 'run' ? 'hint: `floe run --help` lists its options' : 'hint: `floe --help` lists the commands');
      return 2;
    }
    if (error instanceof FloeError) {
      out(`error ${error.code}: ${error.message}`);
      if (error.hint) out(`hint: ${error.hint}`);
      return 1;
    }
    throw error;
  }
}

// The floe command line: `floe run job.ts [options]`.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { Command, CommanderError, Help, Option } from 'commander';
import { StreamExecutionEnvironment } from '../api/stream-execution-environment.ts';
import { checkInspectorUrl, DEFAULT_INSPECT_URL } from '../api/inspection.ts';
import type { JobClient } from '../api/job-client.ts';
import { Configuration, parseDynamicProperty } from '../config/configuration.ts';
import { FloeError } from '../errors.ts';
import { registerCheckpointsCommand } from './checkpoints-command.ts';
import { buildJob, loadJob, looksLikeJobFile } from './load-job.ts';
import { watchNpmWrapper } from './npm-wrapper-watch.ts';
import { attachReporter, formatJobEnd, formatWarning, missingUids, printWarnings } from './reporter.ts';
import { onStopSignals, signalExitCode, type StopSignals } from './stop-signals.ts';
import { registerCancelCommand } from './cancel-command.ts';
import { registerListCommand } from './list-command.ts';
import { registerSavepointCommand } from './savepoint-command.ts';
import { registerStopCommand } from './stop-command.ts';
import { registerBenchCommand } from './bench-command.ts';
import { registerInspectorCommand } from './inspector-command.ts';
import { registerTaskManagerCommand } from './taskmanager-command.ts';
import { registerJobManagerCommand } from './jobmanager-command.ts';
import { submitRun } from './submit-run.ts';
import { startLocalCluster } from './local-cluster-run.ts';

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
  taskmanagers?: string;
  slots?: string;
  jobmanager?: string;
  token?: string;
  detached?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Builds the configuration: config file, then -D properties, then flags (later wins). */
async function configurationFrom(options: RunOptions): Promise<Configuration> {
  // yaml is loaded for a config file only
  let conf = options.config ? await (await import('../config/load-config.ts')).loadConfigFile(options.config) : new Configuration();
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

/** The inspector URL of `--inspect [url]`, and the job when the optional URL swallowed it (`floe run --inspect job.ts`). */
function inspectAndJob(
  job: string | undefined,
  inspect: string | true | undefined,
): { job: string | undefined; inspect: string | undefined } {
  // a URL never ends in .ts or names a file: with no job argument left, that value is the job, inspected at the default URL
  if (job === undefined && typeof inspect === 'string' && (looksLikeJobFile(inspect) || existsSync(inspect)))
    return { job: inspect, inspect: DEFAULT_INSPECT_URL };
  if (inspect === undefined) return { job, inspect: undefined };
  return { job, inspect: inspect === true ? DEFAULT_INSPECT_URL : checkInspectorUrl(inspect) };
}

/** Under npx, a kill of npm stops floe as it would have stopped floe itself; returns the stop-watching function. */
function followNpmWrapper(signals: StopSignals, out: (line: string) => void): () => void {
  return watchNpmWrapper((end) => {
    if (end.kind === 'signaled') {
      // a no-op when floe is stopping already: Ctrl-C reaches floe too (the whole foreground group gets it)
      signals.request('SIGTERM', `npm (pid ${end.npm.pid}) passed a kill on to the shell floe runs in (pid ${end.shell.pid})`);
      return;
    }
    // as kill -9 of floe itself: no cancel, so retained checkpoints stay for -s; the shell left waiting exits with floe
    out(
      `npm (pid ${end.npm.pid}), which started floe, was killed: floe stops the same way (kill -9), leaving its retained checkpoints for -s`,
    );
    process.kill(process.pid, 'SIGKILL');
  });
}

async function run(jobPath: string, options: RunOptions, inspect: string | undefined, out: (line: string) => void): Promise<number> {
  let client: JobClient | undefined;
  // installed first: a signal while the job loads cancels it as soon as it exists
  const signals = onStopSignals(() => void client?.cancel(), out);
  const stopWatching = followNpmWrapper(signals, out);
  let stopWarnings: (() => void) | undefined;
  let cluster: Awaited<ReturnType<typeof startLocalCluster>> | undefined;
  try {
    const conf = await configurationFrom(options);
    const job = await loadJob(jobPath);
    const env = new StreamExecutionEnvironment(conf);
    if (inspect !== undefined) env.setInspector(inspect, { onConnected: (url) => out(`inspector connected: ${url}`) });
    await buildJob(job, env, jobPath);
    warnCheckpointDirWithoutInterval(env.config, out);
    // warnings of the job's tasks (a sink's directory, ...) are printed from the start, in the CLI's format
    stopWarnings = printWarnings(out);
    // --taskmanagers N: this process is the JobManager of a local cluster of N TaskManager processes
    if (options.taskmanagers !== undefined) cluster = await startLocalCluster(env, jobPath, options, out);
    client = await env.executeAsync(basename(jobPath).replace(/\.[cm]?[jt]sx?$/, ''));
    if (client.generatedUids.length > 0) formatWarning(missingUids(client.generatedUids)).forEach(out);
    attachReporter(client, { checkpoints: !options.quiet, write: out, pid: process.pid });
    if (client.restoredFrom) {
      // the restore itself is the running line's ("restored from ..."); what the user should know about it comes first
      for (const warning of client.restoredFrom.warnings) out(`warning: ${warning}`);
      if (client.restoredFrom.drained)
        out(
          'warning: this savepoint was taken by `stop --drain`: its operators already flushed their end of input, so results they emitted then may be emitted again',
        );
    }
    if (signals.received) void client.cancel();
    // the REST framework is loaded by `floe run` only, not by the other commands
    const { serveRest } = await import('./serve-rest.ts');
    const closeRest = await serveRest(client, conf, out, cluster?.view);
    try {
      const result = await client.getJobExecutionResult();
      out(formatJobEnd(result));
      if (result.status === 'FINISHED') return 0;
      // canceled on a signal: the code a shell reports for it (130, 143), so `wait $pid` tells it from a failure
      return result.status === 'CANCELED' && signals.received ? signalExitCode(signals.received) : 1;
    } finally {
      await closeRest();
    }
  } finally {
    await cluster?.close();
    stopWarnings?.();
    stopWatching();
    signals.dispose();
  }
}

/**
 * Checkpoints go to --checkpoint-dir only at an interval: without one a run (a resumed one too)
 * writes none, and a kill leaves nothing to resume from. The job file may set the interval itself.
 */
function warnCheckpointDirWithoutInterval(conf: Configuration, out: (line: string) => void): void {
  const dir = conf.get('state.checkpoints.dir');
  if (dir === undefined || (conf.get('execution.checkpointing.interval') ?? 0) > 0) return;
  out(
    `warning: checkpointing is off (no --checkpoint-interval): no checkpoint goes to ${dir}, so a kill leaves nothing to resume from; add e.g. --checkpoint-interval 10s`,
  );
}

export function buildProgram(out: (line: string) => void, setExit: (code: number) => void): Command {
  const program: Command = new Command('floe')
    .description("Stream processing for Node.js with Flink's fault tolerance: task actors, barrier checkpoints, exactly-once recovery")
    .version('0.1.0')
    .exitOverride();

  const runCommand: Command = program
    .command('run')
    // [job], not <job>: `floe run --inspect job.ts` hands the job to --inspect, and the action takes it back
    .usage('[options] <job>')
    .description('run a job file whose default export builds the pipeline: export default function job(env) { ... }')
    .argument('[job]', 'job file (.ts or .js)')
    .option('-p, --parallelism <n>', 'default parallelism (parallelism.default)')
    .option('--checkpoint-interval <duration>', 'checkpoint every 500ms, 1s, ... (execution.checkpointing.interval); off when not set')
    .addOption(new Option('--checkpointing-mode <mode>', 'execution.checkpointing.mode').choices(['exactly-once', 'at-least-once']))
    .addOption(
      new Option(
        '--state-backend <type>',
        'where keyed state lives: memory or fs (JS heap), level (LevelDB on disk, for state larger than the heap) (state.backend.type)',
      ).choices(['memory', 'fs', 'level']),
    )
    .option('--checkpoint-dir <dir>', 'where checkpoint files go (state.checkpoints.dir); required for fs and level')
    .option('-s, --from-savepoint <path>', 'start from a savepoint directory, or a retained checkpoint (execution.state-recovery.path)')
    .option(
      '--from-checkpoint <dir>',
      "start from a retained checkpoint: <checkpoint-dir>/<job-id>/chk-<n>, or a job's directory (its newest usable one)",
    )
    .option('-c, --config <file>', "YAML file with configuration keys (Flink's names)")
    .option('-D, --define <key=value>', 'set a configuration key, e.g. -D execution.checkpointing.timeout=1min (repeatable)', collect)
    .option('--inspect [url]', `stream the task actors' state changes to an xstate inspector (default ${DEFAULT_INSPECT_URL})`)
    .option('-q, --quiet', 'do not print every completed checkpoint')
    .option('--allow-non-restored-state', 'skip savepoint or checkpoint state that matches no operator uid of the job')
    .addOption(new Option('--restore-mode <mode>', 'execution.savepoint-restore-mode').choices(['no-claim', 'claim']))
    .option('--rest-port <n>', 'port of the REST API (rest.port, default 8081; 0 picks a free one)')
    .option('--taskmanagers <n>', 'run on a local cluster: this process is the JobManager, n TaskManager child processes run the subtasks')
    .option('--slots <k>', 'with --taskmanagers: slots per TaskManager (taskmanager.numberOfTaskSlots; default enough for the job)')
    .option(
      '-m, --jobmanager <host:port>',
      'submit the job to a standalone JobManager (floe jobmanager) and follow it; the job file must be readable by every TaskManager',
    )
    .option('--token <token>', 'with -m: rest.auth-token of the JobManager (default $FLOE_REST_TOKEN)')
    .option('--detached', 'with -m: return after submission, printing the job id')
    .addHelpText(
      'after',
      `
Examples:
  floe run examples/wordcount/job.ts --checkpoint-interval 500ms -p 2
  floe run job.ts -D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=3
  floe run job.ts -c floe.yaml --inspect=ws://localhost:8080
  floe run job.ts --state-backend level --checkpoint-dir chk/ --checkpoint-interval 10s -D state.backend.incremental=true
  floe run job.ts --state-backend level --checkpoint-dir chk/ --checkpoint-interval 10s -s chk/<job-id>
                                    # resume a run stopped with kill -9 (floe checkpoints chk/ lists them)

Stopping: Ctrl-C or kill <pid> (the pid in the running line) cancels the job, which by default deletes its
checkpoints; kill -9 <pid> stops it hard and leaves them for -s. Under npx, kill and kill -9 of npm
stop floe the same way.

Configuration keys are Flink's (execution.checkpointing.*, state.backend.*, restart-strategy.*):
see "Options" in floe's README. Unknown keys and bad values are refused before the job starts.`,
    )
    .action(async (jobArgument: string | undefined, options: RunOptions) => {
      const { job, inspect } = inspectAndJob(jobArgument, options.inspect);
      // commander's own words for it, as when the argument was required
      if (job === undefined)
        return runCommand.error("error: missing required argument 'job'", { code: 'commander.missingArgument', exitCode: 1 });
      if (options.jobmanager !== undefined) {
        setExit(
          await submitRun(
            job,
            await configurationFrom(options),
            { jobmanager: options.jobmanager, ...(options.token ? { token: options.token } : {}), detached: options.detached === true },
            out,
            (l) => process.stdout.write(`${l}\n`),
          ),
        );
        return;
      }
      setExit(await run(job, options, inspect, out));
    });
  // the command list shows run as its usage says (`<job>`), not as its optional argument is declared
  program.configureHelp({ subcommandTerm: (cmd) => (cmd === runCommand ? `run ${cmd.usage()}` : new Help().subcommandTerm(cmd)) });
  const print = (line: string) => process.stdout.write(`${line}\n`);
  registerListCommand(program, print);
  registerSavepointCommand(program, print, out);
  registerStopCommand(program, print);
  registerCancelCommand(program, print);
  registerCheckpointsCommand(program, print);
  registerInspectorCommand(program, print);
  registerBenchCommand(program, (line) => process.stdout.write(`${line}\n`), setExit);
  registerTaskManagerCommand(program, out, setExit);
  registerJobManagerCommand(program, out);
  return program;
}

/** `floe`, `floe savepoint`, `floe savepoint inspect`, ...: every command of the program, subcommands of subcommands too. */
function commandsOf(command: Command): Command[] {
  return [command, ...command.commands.flatMap(commandsOf)];
}

/** The hint of a usage error: the help of the command that refused its input, by its full path. */
export function usageHint(command: Command): string {
  const path: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) path.unshift(c.name());
  return command.parent ? `\`${path.join(' ')} --help\` shows its usage` : '`floe --help` lists the commands';
}

/** Runs the CLI; returns the exit code. User errors print `error CODE: message` and a hint, not a stack. */
export async function main(argv: string[], out: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<number> {
  let code = 0;
  const program = buildProgram(out, (c) => (code = c));
  // commander's own errors (unknown option, missing argument) are printed once, in the catch below, in floe's format;
  // each command records itself as the one that refused, so the hint names its help
  const output = {
    writeErr: (s: string) => out(s.trimEnd()),
    writeOut: (s: string) => void process.stdout.write(s),
    outputError: () => {},
  };
  let refusing: Command = program;
  for (const command of commandsOf(program)) {
    command.configureOutput(output);
    command.exitOverride((error) => {
      refusing = command;
      throw error;
    });
  }
  try {
    await program.parseAsync(argv);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0 || error.code === 'commander.help' || error.code === 'commander.helpDisplayed') return error.exitCode;
      out(`error FLOE_USAGE: ${error.message.replace(/^error: /, '')}`);
      out(`hint: ${usageHint(refusing)}`);
      return 2;
    }
    if (error instanceof FloeError) {
      out(`error ${error.code}: ${error.message}`);
      if (error.hint) out(`hint: ${error.hint}`);
      return error.code === 'FLOE_USAGE' ? 2 : 1;
    }
    throw error;
  }
}

// `floe savepoint`: trigger (REST), --dispose, and offline `inspect` (savepoints and retained checkpoints) / `rename-uid` of savepoint directories.
import type { Command } from 'commander';
import { FloeError } from '../errors.ts';
import { loadState } from '../savepoints/restore-point.ts';
import { RetainedCheckpoint } from '../savepoints/retained-checkpoint.ts';
import { Savepoint } from '../savepoints/savepoint.ts';
import { formatBytes, jobLabel } from './reporter.ts';
import { jobmanagerFlag, shellWord } from './cli-hints.ts';
import { addRemoteOptions, RestClient, type RemoteOptions } from './rest-client.ts';

/** JSON that keeps Maps, Sets and bigints readable */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v instanceof Map ? [...v] : v instanceof Set ? [...v] : typeof v === 'bigint' ? v.toString() : v,
  );
}

/** The first line or two of `inspect`: what the path is, whose, when. */
function describe(state: Savepoint | RetainedCheckpoint): string[] {
  const { checkpoint: cp } = state;
  const taken = `taken ${new Date(cp.timestamp).toISOString()}, max parallelism ${cp.maxParallelism}`;
  if (state instanceof RetainedCheckpoint) {
    return [
      `checkpoint ${state.path}`,
      `  job ${state.jobId}, checkpoint ${state.id}, ${taken}, ${state.incremental ? 'incremental' : 'full'}`,
    ];
  }
  const m = state.metadata;
  return [
    `savepoint ${state.path}`,
    `  ${jobLabel(m.jobName, m.jobId)}, checkpoint ${m.checkpointId}, ${taken}, format ${m.version}${m.drained ? ', drained (stop --drain)' : ''}`,
  ];
}

/** Prints one operator's state as JSON lines; says so (on stderr, so the lines stay JSON) when there is none. */
async function dump(
  state: Savepoint | RetainedCheckpoint,
  uid: string,
  name: string | undefined,
  print: (line: string) => void,
  note: (line: string) => void,
): Promise<void> {
  // a usage error first: it needs no savepoint to be found
  let printed = 0;
  const line = (value: unknown) => {
    print(toJson(value));
    printed++;
  };
  for (const [stateName, { mode, items }] of Object.entries(state.operatorState(uid))) {
    if (name === undefined || name === stateName)
      for (const item of items) line({ state: stateName, kind: `operator-${mode}`, value: item });
  }
  for await (const e of state.keyedEntries(uid, name)) line(e);
  if (printed > 0) return;
  const states = (await state.operators()).find((o) => o.uid === uid)?.states ?? [];
  const where = `${state.kind} ${state.path}`;
  if (states.length === 0) note(`operator '${uid}' has no state in ${where}`);
  else note(`operator '${uid}' has no entries in ${name === undefined ? 'its states' : `state '${name}'`} in ${where}`);
}

async function inspect(
  path: string,
  options: { dump?: string; state?: string },
  print: (line: string) => void,
  note: (line: string) => void,
): Promise<void> {
  // a usage error first: it needs no savepoint to be found
  if (options.state !== undefined && options.dump === undefined) {
    throw new FloeError('FLOE_USAGE', '--state only works with --dump <uid>', {
      hint: `\`floe savepoint inspect ${shellWord(path)} --dump <uid> --state ${shellWord(options.state)}\``,
    });
  }
  // a retained checkpoint is read as -s reads it: a job directory gives its newest usable one
  const state = await loadState(path, (w) => note(`warning: cannot read ${w.checkpoint}: ${w.reason}`));
  if (options.dump !== undefined && options.state !== undefined) {
    const names = (await state.operators()).find((o) => o.uid === options.dump)?.states.map((s) => s.name) ?? [];
    if (names.length > 0 && !names.includes(options.state)) {
      throw new FloeError(
        'FLOE_SAVEPOINT_UNKNOWN_STATE',
        `operator '${options.dump}' in ${state.kind} ${state.path} has no state named '${options.state}'`,
        {
          hint: `its states are: ${names.join(', ')}`,
        },
      );
    }
  }
  if (options.dump !== undefined) return dump(state, options.dump, options.state, print, note);
  for (const line of describe(state)) print(line);
  for (const op of await state.operators()) {
    print(`  operator ${op.uid}: parallelism ${op.parallelism}${op.bytes > 0 ? `, ${formatBytes(op.bytes)} keyed state` : ''}`);
    if (op.states.length === 0) print('    (no state)');
    for (const s of op.states) {
      // keyed timers are a map state per key group (see InternalTimerService): its entries are the pending timers
      const timers = /^_timer_state\/(event|processing)_(.*)$/.exec(s.name);
      if (timers) print(`    ${s.name} (timers): ${s.entries} pending ${timers[1]}-time timers of '${timers[2]}'`);
      else print(`    ${s.name} (${s.kind}): ${s.keys} ${s.kind.startsWith('operator') ? 'items' : 'keys'}, ${s.entries} entries`);
    }
  }
}

/** `print` writes results (stdout); `note` what is said about them (stderr). */
export function registerSavepointCommand(program: Command, print: (line: string) => void, note: (line: string) => void = print): void {
  const savepoint = addRemoteOptions(
    program
      .command('savepoint')
      .description(
        'take a savepoint of a running job (prints its path), or --dispose one; see also `savepoint inspect` and `savepoint rename-uid`',
      )
      .argument('[job-id]', 'id of a running job (floe list shows it)')
      .argument('[target-dir]', 'where the savepoint directory goes (default: state.savepoints.dir of the server)')
      .option('--dispose <path>', 'delete a savepoint directory (refuses anything that is not one)'),
  ).action(async (jobId: string | undefined, targetDir: string | undefined, options: RemoteOptions & { dispose?: string }) => {
    if (options.dispose !== undefined) return print(`Disposed savepoint ${await Savepoint.dispose(options.dispose)}.`);
    const m = jobmanagerFlag(options.jobmanager);
    if (!jobId)
      throw new FloeError('FLOE_USAGE', 'floe savepoint needs a job id (or --dispose <path>)', {
        hint: `\`floe savepoint${m} <job-id> [target-dir]\`; \`floe list${m}\` shows the ids`,
      });
    const client = new RestClient(options, { target: targetDir, withTarget: (dir) => `floe savepoint${m} ${shellWord(jobId)} ${dir}` });
    const body = targetDir ? { 'target-directory': targetDir } : {};
    const { 'request-id': id } = await client.request<{ 'request-id': string }>(
      'POST',
      `/jobs/${encodeURIComponent(jobId)}/savepoints`,
      body,
    );
    print(`Savepoint completed. Path: ${await client.awaitSavepoint(jobId, id)}`);
  });
  savepoint
    .command('inspect')
    .description(
      'show a savepoint or retained checkpoint offline: operators, uids, parallelism, state names and kinds, keys, entries, bytes',
    )
    .argument(
      '<path>',
      "a savepoint directory (savepoint-<job>-<id>) or its _metadata file, a checkpoint's chk-<n> directory, or a job's checkpoint directory (its newest usable checkpoint)",
    )
    .option('--dump <uid>', 'print the state of one operator as JSON lines')
    .option('--state <name>', 'with --dump: only this state')
    .action((path: string, options: { dump?: string; state?: string }) => inspect(path, options, print, note));
  savepoint
    .command('rename-uid')
    .description('copy a savepoint with one operator uid renamed (for a job whose uids changed)')
    .argument('<path>', 'a savepoint directory (savepoint-<job>-<id>) or its _metadata file')
    .argument('<old-uid>', 'the uid the savepoint holds state under')
    .argument('<new-uid>', 'the uid the job now gives that operator')
    // checked in the action, not as commander's requiredOption: commander checks required options before
    // arguments, so a bare `rename-uid` would complain about --output before the missing positionals
    .option('-o, --output <new-path>', 'where the repaired copy goes (required; the original is left as it is)')
    .action(async (path: string, from: string, to: string, options: { output?: string }, command: Command) => {
      if (options.output === undefined)
        command.error("required option '-o, --output <new-path>' not specified", {
          code: 'commander.missingMandatoryOptionValue',
          exitCode: 2,
        });
      const repaired = await (await Savepoint.load(path)).renameUid(from, to, options.output);
      print(`Wrote ${repaired.path} with operator '${from}' renamed to '${to}'.`);
    });
}

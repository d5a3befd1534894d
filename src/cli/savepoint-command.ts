// `floe savepoint`: trigger (REST), --dispose, and offline `inspect` / `rename-uid` of savepoint directories.
import type { Command } from 'commander';
import { FloeError } from '../errors.ts';
import { Savepoint } from '../savepoints/savepoint.ts';
import { formatBytes, jobLabel } from './reporter.ts';
import { addRemoteOptions, RestClient, type RemoteOptions } from './rest-client.ts';

/** JSON that keeps Maps, Sets and bigints readable */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (v instanceof Map ? [...v] : v instanceof Set ? [...v] : typeof v === 'bigint' ? v.toString() : v));
}

async function inspect(path: string, options: { dump?: string; state?: string }, print: (line: string) => void): Promise<void> {
  const sp = await Savepoint.load(path);
  if (options.state !== undefined && options.dump === undefined) {
    throw new FloeError('FLOE_USAGE', '--state only works with --dump <uid>', { hint: `floe savepoint inspect ${path} --dump <uid> --state ${options.state}` });
  }
  if (options.dump !== undefined && options.state !== undefined) {
    const names = (await sp.operators()).find((o) => o.uid === options.dump)?.states.map((s) => s.name) ?? [];
    if (names.length > 0 && !names.includes(options.state)) {
      throw new FloeError('FLOE_SAVEPOINT_UNKNOWN_STATE', `operator '${options.dump}' in savepoint ${sp.path} has no state named '${options.state}'`, {
        hint: `its states are: ${names.join(', ')}`,
      });
    }
  }
  if (options.dump !== undefined) {
    for (const [name, { mode, items }] of Object.entries(sp.operatorState(options.dump))) {
      if (options.state === undefined || options.state === name) for (const item of items) print(toJson({ state: name, kind: `operator-${mode}`, value: item }));
    }
    for await (const e of sp.keyedEntries(options.dump, options.state)) print(toJson(e));
    return;
  }
  const m = sp.metadata;
  print(`savepoint ${sp.path}`);
  print(`  ${jobLabel(m.jobName, m.jobId)}, checkpoint ${m.checkpointId}, taken ${new Date(m.timestamp).toISOString()}, max parallelism ${m.maxParallelism}, format ${m.version}${m.drained ? ', drained (stop --drain)' : ''}`);
  for (const op of await sp.operators()) {
    print(`  operator ${op.uid}: parallelism ${op.parallelism}${op.bytes > 0 ? `, ${formatBytes(op.bytes)} keyed state` : ''}`);
    if (op.states.length === 0) print('    (no state)');
    for (const s of op.states) print(`    ${s.name} (${s.kind}): ${s.keys} ${s.kind.startsWith('operator') ? 'items' : 'keys'}, ${s.entries} entries`);
  }
}

export function registerSavepointCommand(program: Command, print: (line: string) => void): void {
  const savepoint = addRemoteOptions(
    program
      .command('savepoint')
      .description('take a savepoint of a running job (prints its path), or --dispose one; see also `savepoint inspect` and `savepoint rename-uid`')
      .argument('[job-id]', 'id of a running job (floe list shows it)')
      .argument('[target-dir]', 'where the savepoint directory goes (default: state.savepoints.dir of the server)')
      .option('--dispose <path>', 'delete a savepoint directory (refuses anything that is not one)'),
  ).action(async (jobId: string | undefined, targetDir: string | undefined, options: RemoteOptions & { dispose?: string }) => {
    if (options.dispose !== undefined) return print(`Disposed savepoint ${await Savepoint.dispose(options.dispose)}.`);
    if (!jobId) throw new FloeError('FLOE_USAGE', 'floe savepoint needs a job id (or --dispose <path>)', { hint: 'floe savepoint <job-id> [target-dir]; floe list shows the ids' });
    const client = new RestClient(options);
    const body = targetDir ? { 'target-directory': targetDir } : {};
    const { 'request-id': id } = await client.request<{ 'request-id': string }>('POST', `/jobs/${encodeURIComponent(jobId)}/savepoints`, body);
    print(`Savepoint completed. Path: ${await client.awaitSavepoint(jobId, id)}`);
  });
  savepoint
    .command('inspect')
    .description('show a savepoint offline: operators, uids, parallelism, state names and kinds, keys, entries, bytes')
    .argument('<path>', 'a savepoint directory (savepoint-<job>-<id>) or its _metadata file')
    .option('--dump <uid>', 'print the state of one operator as JSON lines')
    .option('--state <name>', 'with --dump: only this state')
    .action((path: string, options: { dump?: string; state?: string }) => inspect(path, options, print));
  savepoint
    .command('rename-uid')
    .description('copy a savepoint with one operator uid renamed (for a job whose uids changed)')
    .argument('<path>')
    .argument('<old-uid>')
    .argument('<new-uid>')
    .requiredOption('-o, --output <new-path>', 'where the repaired copy goes (the original is left as it is)')
    .action(async (path: string, from: string, to: string, options: { output: string }) => {
      const repaired = await (await Savepoint.load(path)).renameUid(from, to, options.output);
      print(`Wrote ${repaired.path} with operator '${from}' renamed to '${to}'.`);
    });
}

// The README's resume commands as written: killed with kill -9 <pid> and resumed with -s, the new run checkpoints (it printed "0 checkpoints completed").
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { checkOutput } from '../../examples/big-state/check.ts';
import { FloeRun, bin, root, until } from '../helpers/floe-process.ts';

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const KEYS = 2000;
const ROUNDS = 3;

/** The commands of the README's sh blocks, continuation lines joined and trailing `# ...` comments cut. */
function readmeCommands(text: string): string[] {
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap((block) =>
    block
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
      .filter(Boolean),
  );
}

/** `floe run` commands that resume (-s, --from-checkpoint, --from-savepoint). */
const resumes = (commands: string[]) =>
  commands.filter((c) => /floe run /.test(c) && /(^|\s)(-s|--from-checkpoint|--from-savepoint)\s/.test(c));

t.test('every resume command in the README and in floe run --help keeps checkpointing on', async (t) => {
  const help = await new Promise<string>((resolve) => execFile(process.execPath, [bin, 'run', '--help'], (_e, stdout) => resolve(stdout)));
  const helpCommands = help
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('floe run '));
  const all = [...resumes(readmeCommands(readme)), ...resumes(helpCommands)];
  t.ok(all.length >= 5, `found the resume commands: ${all.length}`);
  for (const command of all) t.match(command, /--checkpoint-interval \S+/, command);
});

t.test('the state backends section: start, kill -9 <pid>, resume with -s; the resumed run completes checkpoints', async (t) => {
  const section = readme.slice(readme.indexOf('### State backends'), readme.indexOf('### Checkpoints on disk'));
  const [start, resume] = readmeCommands(section).filter((c) => c.startsWith('npx floe run '));
  t.ok(start && resume && /-s \.\/chk\/<job-id>/.test(resume), `the section's commands: ${start} / ${resume}`);
  const dir = t.testdir({});
  // the README's words, with this spec's job, directories and a free port
  const args = (command: string, jobId = '') => [
    ...command
      .replace(/^npx floe run /, '')
      .split(/\s+/)
      .map((a) =>
        a
          .replace(/^job\.ts$/, join(root, 'spec/fixtures/gated-count-job.ts'))
          .replace(/^\.\/chk/, join(dir, 'chk'))
          .replace('<job-id>', jobId),
      ),
    '--rest-port',
    '0',
    '-D',
    `state.backend.level.localdir=${join(dir, 'level')}`,
  ];
  const env = { KEYS: String(KEYS), ROUNDS: String(ROUNDS), GATE_FILE: join(dir, 'gate'), OUT: join(dir, 'out') };
  const completed = () =>
    existsSync(join(dir, 'chk'))
      ? readdirSync(join(dir, 'chk')).flatMap((j) =>
          readdirSync(join(dir, 'chk', j)).filter((c) => existsSync(join(dir, 'chk', j, c, '_metadata'))),
        )
      : [];

  writeFileSync(join(dir, 'gate'), String(KEYS));
  const first = new FloeRun(args(start!), { env });
  t.teardown(() => void first.child.kill('SIGKILL'));
  const [, jobId] = await first.waitFor(/job '[^']+' \((\w+)\) running, pid \d+/);
  await until(() => completed().length > 0, 'a checkpoint of the first run on disk');
  process.kill(first.pid!, 'SIGKILL');
  t.equal((await first.exited).signal, 'SIGKILL', 'kill -9 <pid> ended the first run');

  writeFileSync(join(dir, 'gate'), String(KEYS * ROUNDS));
  const second = new FloeRun(args(resume!, jobId), { env });
  t.teardown(() => void second.child.kill('SIGKILL'));
  const { code } = await second.exited;
  t.equal(code, 0, second.log);
  t.match(second.log, /running, pid \d+, restored from checkpoint \d+/, "the resumed run restored the killed run's checkpoint");
  t.notMatch(second.log, /checkpointing is off/, 'no warning: the command keeps its interval');
  const finished = /job FINISHED in [\d.]+ s: (\d+) checkpoints? completed/.exec(second.log);
  t.ok(finished && Number(finished[1]) > 0, `the resumed run completed checkpoints: ${finished?.[0]}`);
  t.same(
    await checkOutput(join(dir, 'out'), KEYS, ROUNDS),
    { lines: KEYS * ROUNDS, missing: 0, duplicates: 0, unexpected: 0, examples: [] },
    'and its output is exactly once',
  );
});

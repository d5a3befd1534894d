// The layer check `npm test` runs (.dependency-cruiser.cjs): it holds for src/, and it does catch an upward import, a type-only one, and a cycle.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';

const ROOT = resolve(import.meta.dirname, '../..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules/.bin/depcruise');

async function cruise(cwd: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await promisify(execFile)(DEPCRUISE, ['src', '--config', CONFIG], { cwd });
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

function tree(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

t.test("floe's own sources keep the layers and have no cycle", async (t) => {
  const { code, out } = await cruise(ROOT);
  t.equal(code, 0, out);
});

t.test('an upward import, a type-only upward import and a cycle are each refused', async (t) => {
  const dir = t.testdir();
  tree(dir, {
    'src/errors.ts': 'export class FloeError extends Error {}\n',
    'src/actors/task.ts': 'export const task = 1;\nexport interface TaskPhase { phase: string }\n',
    // the model layer reaching up into the task runtime, by value and by type
    'src/checkpoint/barrier.ts': "import { task } from '../actors/task.ts';\nexport const barrier = task;\n",
    'src/backends/handle.ts': "import type { TaskPhase } from '../actors/task.ts';\nexport type Handle = TaskPhase;\n",
    // a cycle inside one layer
    'src/graph/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
    'src/graph/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
    // going down is fine
    'src/cli/main.ts':
      "import { task } from '../actors/task.ts';\nimport { FloeError } from '../errors.ts';\nexport const main = [task, FloeError];\n",
  });
  const { code, out } = await cruise(dir);
  t.not(code, 0, 'the check fails');
  t.match(out, /layer-2-model: src\/checkpoint\/barrier\.ts → src\/actors\/task\.ts/);
  t.match(out, /layer-3-state: src\/backends\/handle\.ts → src\/actors\/task\.ts/, 'a type-only import counts');
  t.match(out, /no-circular: src\/graph\/a\.ts →/);
  t.notMatch(out, /src\/cli\/main\.ts/, 'imports down the layers pass');
});

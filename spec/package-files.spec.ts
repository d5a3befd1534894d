// The package's own files, found from the package root wherever the code runs (src/ here; dist/'s chunks when built).
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { entryPoint, FROM_SOURCE, packagePath, packageRoot } from '../src/package-files.ts';

t.test('the root is the checkout, and the files named from it exist', async (t) => {
  t.equal(packageRoot(), fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, ''));
  t.equal((JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { name: string }).name, 'floe');
  t.ok(existsSync(packagePath('bin', 'floe.js')), 'bin/floe.js');
  t.ok(existsSync(packagePath('bench', 'scenarios')), 'bench/scenarios');
});

t.test('an entry point is the source file under a TypeScript loader', async (t) => {
  t.ok(FROM_SOURCE);
  t.equal(entryPoint('bench/scenario-job-file'), join(packageRoot(), 'src', 'bench', 'scenario-job-file.ts'));
  t.ok(existsSync(entryPoint('bench/scenario-job-file')));
});

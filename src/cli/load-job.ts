// Loads a job file: its default export builds the pipeline on the environment it receives.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StreamExecutionEnvironment } from '../api/stream-execution-environment.ts';
import { JobDefinitionError } from '../errors.ts';

export type JobFunction = (env: StreamExecutionEnvironment) => void | Promise<void>;

/** The default export, also when the file was loaded as CommonJS (outside an ES-module package), which nests it once more. */
function defaultExport(module: { default?: unknown }): unknown {
  const outer = module.default;
  if (typeof outer === 'function') return outer;
  const inner = (outer as { default?: unknown } | null | undefined)?.default;
  return typeof inner === 'function' ? inner : undefined;
}

/** A job file importing 'floe' from a folder where floe cannot be resolved: say where it must be installed. */
function isFloeNotFound(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') && /['"]floe['"]/.test(e.message ?? '');
}

export async function loadJob(path: string): Promise<JobFunction> {
  const file = resolve(path);
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new JobDefinitionError('FLOE_JOB_NOT_FOUND', `job file not found: ${file}`, {
      hint: 'pass the path of a .ts or .js file whose default export builds the job, e.g. floe run examples/wordcount/job.ts',
    });
  }
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (error) {
    if (isFloeNotFound(error)) {
      throw new JobDefinitionError('FLOE_JOB_CANNOT_IMPORT_FLOE', `${file} imports 'floe', which is not installed where the job file lives`, {
        cause: error,
        hint: 'run `npm install floe` in the job\'s project, or keep the job file inside a project that has floe in node_modules',
      });
    }
    if (/Top-level await is currently not supported with the "cjs" output format/.test((error as Error)?.message ?? '')) {
      throw new JobDefinitionError('FLOE_JOB_TOP_LEVEL_AWAIT', `${file} uses top-level await but is loaded as CommonJS (no "type": "module" in the package.json next to it)`, {
        cause: error,
        hint: 'rename the job file to .mts (or .mjs), or add "type": "module" to its package.json',
      });
    }
    // any other failure while importing (syntax error, a throw at top level) is the user's bug: it keeps its stack
    throw error;
  }
  const job = defaultExport(module);
  if (job === undefined) {
    throw new JobDefinitionError('FLOE_JOB_NO_DEFAULT_EXPORT', `${file} has no default export function`, {
      hint: 'add `export default function job(env: StreamExecutionEnvironment) { ... }` to the job file',
    });
  }
  return job as JobFunction;
}

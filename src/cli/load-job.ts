// Loads a job file: its default export builds the pipeline on the environment it receives.
import { existsSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StreamExecutionEnvironment } from '../api/stream-execution-environment.ts';
import { FloeError, JobDefinitionError } from '../errors.ts';
import { formatLocation, locationIn, syntaxError } from './job-file-errors.ts';
import { needsTypeScriptLoader, registerTypeScriptLoader } from './typescript-loader.ts';

export type JobFunction = (env: StreamExecutionEnvironment) => void | Promise<void>;

/** What Node (with tsx) runs as a module; anything else (README.md, data.json) it refuses with a stack. A file without extension runs as JavaScript. */
export const JOB_EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs', '.jsx'];

/** A path that names a job file by its extension: `floe run --inspect job.ts` reads as the job, not an inspector URL. */
export const looksLikeJobFile = (path: string) => JOB_EXTENSIONS.includes(extname(path).toLowerCase());

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
  const extension = extname(file);
  if (extension !== '' && !looksLikeJobFile(file)) {
    throw new JobDefinitionError(
      'FLOE_JOB_UNKNOWN_EXTENSION',
      `${file} is not a job file: floe runs ${JOB_EXTENSIONS.join(', ')} files, not ${extension}`,
      {
        hint: 'pass the .ts or .js file whose default export builds the job, e.g. floe run examples/wordcount/job.ts',
      },
    );
  }
  let module: { default?: unknown };
  if (needsTypeScriptLoader(file)) await registerTypeScriptLoader();
  try {
    module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (error) {
    if (isFloeNotFound(error)) {
      throw new JobDefinitionError(
        'FLOE_JOB_CANNOT_IMPORT_FLOE',
        `${file} imports 'floe', which is not installed where the job file lives`,
        {
          cause: error,
          hint: "run `npm install floe` in the job's project, or keep the job file inside a project that has floe in node_modules",
        },
      );
    }
    if (/Top-level await is currently not supported with the "cjs" output format/.test((error as Error)?.message ?? '')) {
      throw new JobDefinitionError(
        'FLOE_JOB_TOP_LEVEL_AWAIT',
        `${file} uses top-level await but is loaded as CommonJS (no "type": "module" in the package.json next to it)`,
        {
          cause: error,
          hint: 'rename the job file to .mts (or .mjs), or add "type": "module" to its package.json',
        },
      );
    }
    // a syntax error's stack is the compiler's, where file, line and column help; any other failure
    // while importing (a throw at top level) is the user's bug and keeps its stack
    throw syntaxError(error, file) ?? error;
  }
  const job = defaultExport(module);
  if (job === undefined) {
    throw new JobDefinitionError('FLOE_JOB_NO_DEFAULT_EXPORT', `${file} has no default export function`, {
      hint: 'add `export default function job(env: StreamExecutionEnvironment) { ... }` to the job file',
    });
  }
  return job as JobFunction;
}

/**
 * Runs the job function on the environment. A throw there (a missing setting, a bad argument) stops
 * the job before anything runs: say where in the job file, not the CLI's stack under it. FloeErrors
 * (a bad key in env.configure) pass as they are: they have their own code and hint.
 */
export async function buildJob(job: JobFunction, env: StreamExecutionEnvironment, file: string): Promise<void> {
  try {
    await job(env);
  } catch (error) {
    if (error instanceof FloeError) throw error;
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const where = locationIn((error as Error | null)?.stack, resolve(file));
    // file:line:column first, as compilers print it: terminals and editors open it there
    const message = where
      ? `${formatLocation(where)}: the job function threw ${what}`
      : `the job function of ${resolve(file)} threw ${what}`;
    throw new JobDefinitionError('FLOE_JOB_BUILD_FAILED', message, {
      cause: error,
      hint: 'the job function only builds the pipeline: fix what it throws on (errors inside map, process and other operator functions are reported with their stack once the job runs)',
    });
  }
}

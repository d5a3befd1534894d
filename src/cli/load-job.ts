// Loads a job file: its default export builds the pipeline on the environment it receives.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StreamExecutionEnvironment } from '../api/stream-execution-environment.ts';
import { JobDefinitionError } from '../errors.ts';

export type JobFunction = (env: StreamExecutionEnvironment) => void | Promise<void>;

export async function loadJob(path: string): Promise<JobFunction> {
  const file = resolve(path);
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new JobDefinitionError('FLOE_JOB_NOT_FOUND', `job file not found: ${file}`, {
      hint: 'pass the path of a .ts or .js file whose default export builds the job, e.g. floe run examples/wordcount/job.ts',
    });
  }
  // a failure while importing (syntax error, a throw at top level) is the user's bug: it keeps its stack
  const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  const job = module.default;
  if (typeof job !== 'function') {
    throw new JobDefinitionError('FLOE_JOB_NO_DEFAULT_EXPORT', `${file} has no default export function`, {
      hint: 'add `export default function job(env: StreamExecutionEnvironment) { ... }`',
    });
  }
  return job as JobFunction;
}

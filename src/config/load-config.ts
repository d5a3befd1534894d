// Reading a YAML configuration file (Flink's config.yaml): nested maps or flat dotted keys.
import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isScalar, parseDocument, type Node, type YAMLMap } from 'yaml';
import { ConfigError } from '../errors.ts';
import { Configuration } from './configuration.ts';

interface Entry {
  key: string;
  value: unknown;
  line: number;
}

/** Loads `path` into a Configuration; every key is checked as `Configuration.set` checks it. */
export async function loadConfigFile(path: string): Promise<Configuration> {
  const text = await readText(path);
  const conf = new Configuration();
  for (const { key, value, line } of entriesOf(text, path)) {
    try {
      conf.set(key, value);
    } catch (error) {
      /* c8 ignore next */
      if (!(error instanceof ConfigError)) throw error;
      // Same code, but the message says where, so the user can go straight to the line.
      throw new ConfigError(error.code, `${path}:${line}: ${error.message}`, { cause: error, hint: error.hint });
    }
  }
  return conf;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError('FLOE_CONFIG_FILE_NOT_FOUND', `configuration file '${path}' does not exist`, {
        cause: error,
        hint: 'check the path given to --config',
      });
    }
    throw new ConfigError('FLOE_CONFIG_FILE_UNREADABLE', `cannot read configuration file '${path}': ${(error as Error).message}`, {
      cause: error,
      hint: 'give --config a readable YAML file',
    });
  }
}

/** The file's leaves as dotted keys: `execution: { checkpointing: { interval: 1s } }` → `execution.checkpointing.interval`. */
function entriesOf(text: string, path: string): Entry[] {
  const lineCounter = new LineCounter();
  // prettyErrors off: the message is then just the reason, and the position is added as path:line:col.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const [syntaxError] = doc.errors;
  if (syntaxError) {
    const { line, col } = lineCounter.linePos(syntaxError.pos[0]);
    throw new ConfigError('FLOE_CONFIG_PARSE_ERROR', `${path}:${line}:${col}: invalid YAML: ${syntaxError.message}`, {
      cause: syntaxError,
      hint: 'fix the YAML syntax; keys are Flink\'s, e.g. "execution.checkpointing.interval: 10s"',
    });
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return [];
  if (!isMap(doc.contents)) {
    throw new ConfigError('FLOE_CONFIG_PARSE_ERROR', `${path}: expected a map of configuration keys at the top level`, {
      hint: 'write one "key: value" per line, e.g. "parallelism.default: 2"',
    });
  }
  const entries: Entry[] = [];
  const seen = new Map<string, number>();
  const lineOf = (node: Node | null | undefined) => (node?.range ? lineCounter.linePos(node.range[0]).line : 0);
  const walk = (map: YAMLMap, prefix: string) => {
    for (const pair of map.items) {
      const keyNode = pair.key as Node | null;
      const key = prefix + String(isScalar(keyNode) ? keyNode.value : keyNode);
      const line = lineOf(keyNode);
      if (isMap(pair.value)) {
        walk(pair.value, `${key}.`);
        continue;
      }
      const value = pair.value === null ? null : (pair.value as Node).toJS(doc);
      if (seen.has(key)) {
        throw new ConfigError('FLOE_CONFIG_PARSE_ERROR', `${path}:${line}: '${key}' is already set on line ${seen.get(key)}`, {
          hint: 'set each key once, either nested or as a dotted key',
        });
      }
      seen.set(key, line);
      entries.push({ key, value, line });
    }
  };
  walk(doc.contents, '');
  return entries;
}

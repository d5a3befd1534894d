// Configuration: Flink's duration and memory forms, option types, defaults, errors, YAML files and -D properties.
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkpointConfigFrom } from '../../src/config/checkpoint-config.ts';
import { CONFIG_KEYS, CONFIG_OPTIONS } from '../../src/config/config-options.ts';
import { Configuration, parseDynamicProperty } from '../../src/config/configuration.ts';
import { formatDuration, formatMemorySize, parseDuration, parseMemorySize } from '../../src/config/duration.ts';
import { loadConfigFile } from '../../src/config/load-config.ts';
import { ConfigError } from '../../src/errors.ts';

/** The ConfigError `fn` throws; anything else (or nothing) fails the test. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

async function configErrorAsync(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

t.test('durations in Flink forms', async (t) => {
  const cases: Array<[string | number, number]> = [
    [250, 250],
    ['250', 250],
    [' 250 ', 250],
    ['100ms', 100],
    ['100 millis', 100],
    ['1 millisecond', 1],
    ['1s', 1000],
    ['1 sec', 1000],
    ['3 seconds', 3000],
    ['1.5s', 1500],
    ['1.1 s', 1100],
    ['2 min', 120_000],
    ['2m', 120_000],
    ['1 minute', 60_000],
    ['0.5 min', 30_000],
    ['1 h', 3_600_000],
    ['2 hours', 7_200_000],
    ['1d', 86_400_000],
    ['2 DAYS', 172_800_000],
    ['0', 0],
  ];
  for (const [input, ms] of cases) t.equal(parseDuration(input), ms, `${JSON.stringify(input)} = ${ms} ms`);

  for (const bad of ['', 'abc', '1 fortnight', '-1s', '1.5 ms', '1e3', '1 s s', 's', '1,5s', '9999999999999999 d']) {
    t.throws(() => parseDuration(bad), Error, `${JSON.stringify(bad)} is rejected`);
  }
  for (const bad of [-1, 1.5, Infinity, NaN]) t.throws(() => parseDuration(bad), Error, `${bad} is rejected`);

  t.equal(formatDuration(0), '0 ms');
  t.equal(formatDuration(1500), '1500 ms');
  t.equal(formatDuration(90_000), '90 s');
  t.equal(formatDuration(600_000), '10 min');
  t.equal(formatDuration(3_600_000), '1 h');
  t.equal(formatDuration(172_800_000), '2 d');
  t.equal(parseDuration(formatDuration(90_061_000)), 90_061_000, 'formatting round-trips');
  t.throws(() => formatDuration(-1), TypeError);
});

t.test('memory sizes, 1024-based', async (t) => {
  const cases: Array<[string | number, number]> = [
    [4096, 4096],
    ['4096', 4096],
    ['10b', 10],
    ['20 kb', 20_480],
    ['1k', 1024],
    ['2 KiB', 2048],
    ['5mb', 5 * 1024 ** 2],
    ['5 MiB', 5 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1 GB', 1024 ** 3],
    ['0.5 kb', 512],
  ];
  for (const [input, bytes] of cases) t.equal(parseMemorySize(input), bytes, `${JSON.stringify(input)} = ${bytes} bytes`);
  for (const bad of ['five mb', '1 xb', '0.1 b', '', -5]) t.throws(() => parseMemorySize(bad), Error, `${JSON.stringify(bad)} is rejected`);
  t.equal(formatMemorySize(5 * 1024 ** 2), '5 MiB');
  t.equal(formatMemorySize(1536), '1536 bytes');
});

t.test('every option has a valid default and a description', async (t) => {
  const conf = new Configuration();
  for (const key of CONFIG_KEYS) {
    const option = CONFIG_OPTIONS[key];
    t.ok(option.description.length > 0, `${key} is described`);
    const value = conf.get(key);
    if (value === undefined) continue;
    // A default must itself be an acceptable value.
    t.doesNotThrow(() => new Configuration({ [key]: value }), `${key}'s default ${String(value)} is valid`);
  }
});

t.test('defaults', async (t) => {
  const conf = new Configuration();
  t.equal(conf.get('parallelism.default'), 1);
  t.equal(conf.get('pipeline.max-parallelism'), 128);
  t.equal(conf.get('execution.checkpointing.interval'), undefined);
  t.equal(conf.get('execution.checkpointing.mode'), 'exactly-once');
  t.equal(conf.get('execution.checkpointing.timeout'), 600_000);
  t.equal(conf.get('execution.checkpointing.min-pause'), 0);
  t.equal(conf.get('state.backend.type'), 'memory');
  t.equal(conf.get('state.backend.memory.max-snapshot-size'), 5 * 1024 * 1024);
  t.equal(conf.get('state.checkpoints.dir'), undefined);
  t.equal(conf.get('taskmanager.network.memory.buffers-per-channel'), 2);
  t.equal(conf.get('taskmanager.network.batch-size'), 512);
  t.equal(conf.get('restart-strategy.exponential-delay.backoff-multiplier'), 1.5);
  t.equal(conf.get('restart-strategy.exponential-delay.max-backoff'), 60_000);
  t.equal(conf.get('restart-strategy.exponential-delay.attempts-before-reset-backoff'), Number.MAX_SAFE_INTEGER);
  t.equal(conf.get('rest.address'), '127.0.0.1');
  t.equal(conf.get('rest.port'), 8081);
  t.equal(conf.has('parallelism.default'), false, 'a default is not an explicit value');
});

t.test('the restart strategy defaults to exponential-delay only when checkpointing is on', async (t) => {
  t.equal(new Configuration().get('restart-strategy.type'), 'none');
  t.equal(new Configuration({ 'execution.checkpointing.interval': '0' }).get('restart-strategy.type'), 'none', '0 disables checkpointing');
  const conf = new Configuration({ 'execution.checkpointing.interval': '10s' });
  t.equal(conf.get('restart-strategy.type'), 'exponential-delay');
  conf.set('restart-strategy.type', 'fixed-delay');
  t.equal(conf.get('restart-strategy.type'), 'fixed-delay', 'an explicit value wins');
});

t.test('values of every type, from strings and from typed values', async (t) => {
  const conf = new Configuration({
    'parallelism.default': '4',
    'pipeline.max-parallelism': 256,
    'execution.checkpointing.interval': '500ms',
    'execution.checkpointing.timeout': 30_000,
    'execution.checkpointing.mode': 'AT_LEAST_ONCE',
    'execution.checkpointing.incremental': 'TRUE',
    'state.backend.type': 'Level',
    'state.backend.memory.max-snapshot-size': '10 mb',
    'state.checkpoints.dir': ' /tmp/chk ',
    'restart-strategy.exponential-delay.jitter-factor': '0.25',
    'restart-strategy.exponential-delay.backoff-multiplier': 2,
    'rest.port': '0',
  });
  t.equal(conf.get('parallelism.default'), 4);
  t.equal(conf.get('pipeline.max-parallelism'), 256);
  t.equal(conf.get('execution.checkpointing.interval'), 500);
  t.equal(conf.get('execution.checkpointing.timeout'), 30_000);
  t.equal(conf.get('execution.checkpointing.mode'), 'at-least-once');
  t.equal(conf.get('execution.checkpointing.incremental'), true);
  t.equal(conf.get('state.backend.type'), 'level');
  t.equal(conf.get('state.backend.memory.max-snapshot-size'), 10 * 1024 ** 2);
  t.equal(conf.get('state.checkpoints.dir'), '/tmp/chk');
  t.equal(conf.get('restart-strategy.exponential-delay.jitter-factor'), 0.25);
  t.equal(conf.get('restart-strategy.exponential-delay.backoff-multiplier'), 2);
  t.equal(conf.get('rest.port'), 0);

  for (const [spelling, mode] of [
    ['EXACTLY_ONCE', 'exactly-once'],
    ['exactly-once', 'exactly-once'],
    ['at-least-once', 'at-least-once'],
  ]) {
    t.equal(new Configuration({ 'execution.checkpointing.mode': spelling }).get('execution.checkpointing.mode'), mode, spelling!);
  }
  for (const [spelling, type] of [
    ['off', 'none'],
    ['disable', 'none'],
    ['NONE', 'none'],
    ['fixeddelay', 'fixed-delay'],
    ['failurerate', 'failure-rate'],
    ['failure-rate', 'failure-rate'],
    ['exponentialdelay', 'exponential-delay'],
  ]) {
    t.equal(new Configuration({ 'restart-strategy.type': spelling }).get('restart-strategy.type'), type, spelling!);
  }
  t.equal(new Configuration({ 'execution.checkpointing.incremental': false }).get('execution.checkpointing.incremental'), false);
});

t.test("Flink 2's renamed keys are aliases", async (t) => {
  const conf = new Configuration({
    'execution.checkpointing.dir': '/chk',
    'execution.checkpointing.savepoint-dir': '/sp',
    'state.backend': 'fs',
  });
  t.equal(conf.get('state.checkpoints.dir'), '/chk');
  t.equal(conf.get('state.savepoints.dir'), '/sp');
  t.equal(conf.get('state.backend.type'), 'fs');
  t.ok(conf.has('execution.checkpointing.dir'));
  t.same(
    Object.keys(conf.toObject()).sort(),
    ['state.backend.type', 'state.checkpoints.dir', 'state.savepoints.dir'],
    'stored under the canonical keys',
  );
});

t.test('unknown keys are rejected with a suggestion', async (t) => {
  const typo = configError(() => new Configuration({ 'execution.checkpointing.intervall': '1s' }));
  t.equal(typo.code, 'FLOE_CONFIG_UNKNOWN_KEY');
  t.match(typo.message, /'execution\.checkpointing\.intervall'.*did you mean 'execution\.checkpointing\.interval'\?/);
  t.match(typo.hint, /execution\.checkpointing\.interval/);

  const short = configError(() => new Configuration().set('fixed-delay.attempts', 3));
  t.match(short.message, /did you mean 'restart-strategy\.fixed-delay\.attempts'/, 'a key without its prefix');

  const far = configError(() => new Configuration().set('kafka.bootstrap.servers', 'x'));
  t.equal(far.code, 'FLOE_CONFIG_UNKNOWN_KEY');
  t.notMatch(far.message, /did you mean/, 'nothing close, no suggestion');
  t.ok(far.hint);

  t.equal(configError(() => new Configuration().get('nope' as 'rest.port')).code, 'FLOE_CONFIG_UNKNOWN_KEY', 'get checks too');
  t.equal(configError(() => new Configuration().has('nope')).code, 'FLOE_CONFIG_UNKNOWN_KEY', 'has checks too');
});

t.test('bad values are rejected with what is expected', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    [
      'execution.checkpointing.interval',
      'soon',
      /'soon' for 'execution\.checkpointing\.interval': expected a duration such as 500ms, 1s or 2 min/,
    ],
    ['execution.checkpointing.timeout', '1.5ms', /whole number of milliseconds/],
    ['execution.checkpointing.timeout', 0, /at least 1 ms/],
    ['parallelism.default', 0, /expected an integer >= 1/],
    ['parallelism.default', '2.5', /expected an integer/],
    ['parallelism.default', '0x10', /expected an integer/],
    ['pipeline.max-parallelism', 40_000, /from 1 to 32768/],
    ['rest.port', 70_000, /from 0 to 65535/],
    ['restart-strategy.exponential-delay.jitter-factor', 1.5, /a number from 0 to 1/],
    ['restart-strategy.exponential-delay.backoff-multiplier', 'fast', /a number >= 1/],
    ['execution.checkpointing.mode', 'twice', /one of exactly-once, at-least-once/],
    ['state.backend.type', 'rocksdb', /one of memory, fs, level/],
    ['execution.checkpointing.incremental', 'yes', /true or false/],
    ['state.backend.memory.max-snapshot-size', 'huge', /a memory size/],
    ['state.checkpoints.dir', '  ', /a non-empty string/],
    ['state.checkpoints.dir', { path: '/x' }, /\{"path":"\/x"\}/],
    ['parallelism.default', true, /bad value true/],
  ];
  for (const [key, value, message] of cases) {
    const error = configError(() => new Configuration().set(key, value));
    t.equal(error.code, 'FLOE_CONFIG_BAD_VALUE', `${key} = ${JSON.stringify(value)}`);
    t.match(error.message, message);
    t.ok(error.hint, 'with a hint');
  }
  const backend = configError(() => new Configuration({ 'state.backend.type': 'hashmap' }));
  t.match(backend.hint, /rocksdb/, "the state backend's hint maps Flink's names to floe's");

  const conf = new Configuration({ 'parallelism.default': 2 });
  t.throws(() => conf.set('parallelism.default', -1));
  t.equal(conf.get('parallelism.default'), 2, 'a rejected value leaves the old one');
});

t.test('set, unset, merge, entries, toObject', async (t) => {
  const base = new Configuration({ 'parallelism.default': 2, 'state.backend.type': 'fs' });
  const override = new Configuration({ 'parallelism.default': '8', 'execution.checkpointing.interval': '1 min' });
  const merged = base.merge(override);
  t.equal(merged.get('parallelism.default'), 8, 'the other configuration wins');
  t.equal(merged.get('state.backend.type'), 'fs');
  t.equal(merged.get('execution.checkpointing.interval'), 60_000);
  t.equal(base.get('parallelism.default'), 2, 'merge leaves both inputs alone');
  t.equal(override.has('state.backend.type'), false);

  t.same(merged.entries(), [
    ['parallelism.default', 8],
    ['state.backend.type', 'fs'],
    ['execution.checkpointing.interval', 60_000],
  ]);
  t.same(new Configuration(merged.toObject()).toObject(), merged.toObject(), 'toObject round-trips');
  const all = merged.toObject({ withDefaults: true });
  t.equal(all['rest.port'], 8081);
  t.equal(all['restart-strategy.type'], 'exponential-delay');
  t.notOk('state.savepoints.dir' in all, 'unset options without a default are left out');

  t.equal(merged.set('parallelism.default', undefined), merged, 'set chains');
  t.equal(merged.has('parallelism.default'), false, 'undefined unsets');
  t.equal(merged.get('parallelism.default'), 1);
  merged.set('state.backend.type', null);
  t.equal(merged.get('state.backend.type'), 'memory', 'null unsets');
});

t.test('checkpoint config', async (t) => {
  t.same(checkpointConfigFrom(new Configuration()), {
    enabled: false,
    intervalMs: 0,
    mode: 'exactly-once',
    timeoutMs: 600_000,
    minPauseMs: 0,
    maxConcurrent: 1,
    tolerableFailures: 0,
    unaligned: false,
    alignedTimeoutMs: 0,
    historySize: 100,
  });
  t.same(
    checkpointConfigFrom(
      new Configuration({
        'execution.checkpointing.interval': '2s',
        'execution.checkpointing.mode': 'AT_LEAST_ONCE',
        'execution.checkpointing.timeout': '1 min',
        'execution.checkpointing.min-pause': '500 ms',
        'execution.checkpointing.max-concurrent-checkpoints': 2,
        'execution.checkpointing.tolerable-failed-checkpoints': '3',
      }),
    ),
    {
      enabled: true,
      intervalMs: 2000,
      mode: 'at-least-once',
      timeoutMs: 60_000,
      minPauseMs: 500,
      maxConcurrent: 2,
      tolerableFailures: 3,
      unaligned: false,
      alignedTimeoutMs: 0,
      historySize: 100,
    },
  );
  t.equal(checkpointConfigFrom(new Configuration({ 'execution.checkpointing.interval': 0 })).enabled, false);
});

t.test('-D properties', async (t) => {
  t.same(parseDynamicProperty('execution.checkpointing.interval=10s'), ['execution.checkpointing.interval', '10s']);
  t.same(parseDynamicProperty(' state.checkpoints.dir = /a=b '), ['state.checkpoints.dir', '/a=b'], 'splits at the first =');
  t.same(parseDynamicProperty('rest.address='), ['rest.address', '']);
  for (const bad of ['parallelism.default', '=4', '']) {
    t.equal(configError(() => parseDynamicProperty(bad)).code, 'FLOE_CONFIG_BAD_PROPERTY', JSON.stringify(bad));
  }
});

t.test('YAML files', async (t) => {
  const dir = t.testdir({
    'nested.yaml': [
      'parallelism:',
      '  default: 3',
      'execution:',
      '  checkpointing:',
      '    interval: 1s',
      '    mode: AT_LEAST_ONCE',
      'state.backend:',
      '  type: level',
      'restart-strategy: { type: fixed-delay, fixed-delay: { attempts: 5 } }',
      'state.savepoints.dir:',
      '',
    ].join('\n'),
    'flat.yaml': '# Flink 1.x style\nparallelism.default: 2\nexecution.checkpointing.interval: 500\nstate.checkpoints.dir: /tmp/chk\n',
    'empty.yaml': '# nothing set\n',
    'unknown.yaml': 'parallelism.default: 2\nexecution:\n  checkpointing:\n    intervall: 1s\n',
    'bad-value.yaml': 'parallelism.default: 2\nrest.port: lots\n',
    'broken.yaml': 'parallelism.default: 2\nexecution: [1, 2\nstate.backend.type: fs\n',
    'list.yaml': '- parallelism.default: 2\n',
    'twice.yaml': 'execution.checkpointing.interval: 1s\nexecution:\n  checkpointing:\n    interval: 2s\n',
  });

  const nested = await loadConfigFile(join(dir, 'nested.yaml'));
  t.equal(nested.get('parallelism.default'), 3);
  t.equal(nested.get('execution.checkpointing.interval'), 1000);
  t.equal(nested.get('execution.checkpointing.mode'), 'at-least-once');
  t.equal(nested.get('state.backend.type'), 'level');
  t.equal(nested.get('restart-strategy.type'), 'fixed-delay');
  t.equal(nested.get('restart-strategy.fixed-delay.attempts'), 5);
  t.equal(nested.has('state.savepoints.dir'), false, 'an empty value leaves the key unset');

  const flat = await loadConfigFile(join(dir, 'flat.yaml'));
  t.same(flat.toObject(), { 'parallelism.default': 2, 'execution.checkpointing.interval': 500, 'state.checkpoints.dir': '/tmp/chk' });
  t.same((await loadConfigFile(join(dir, 'empty.yaml'))).toObject(), {});

  const unknown = await configErrorAsync(loadConfigFile(join(dir, 'unknown.yaml')));
  t.equal(unknown.code, 'FLOE_CONFIG_UNKNOWN_KEY');
  t.match(
    unknown.message,
    /unknown\.yaml:4: .*'execution\.checkpointing\.intervall'.*did you mean 'execution\.checkpointing\.interval'/,
    'names file, line and suggestion',
  );

  const badValue = await configErrorAsync(loadConfigFile(join(dir, 'bad-value.yaml')));
  t.equal(badValue.code, 'FLOE_CONFIG_BAD_VALUE');
  t.match(badValue.message, /bad-value\.yaml:2: bad value 'lots' for 'rest\.port'/);

  const broken = await configErrorAsync(loadConfigFile(join(dir, 'broken.yaml')));
  t.equal(broken.code, 'FLOE_CONFIG_PARSE_ERROR');
  t.match(broken.message, /broken\.yaml:3:\d+: invalid YAML: /);

  const list = await configErrorAsync(loadConfigFile(join(dir, 'list.yaml')));
  t.equal(list.code, 'FLOE_CONFIG_PARSE_ERROR');
  t.match(list.message, /expected a map/);

  const twice = await configErrorAsync(loadConfigFile(join(dir, 'twice.yaml')));
  t.equal(twice.code, 'FLOE_CONFIG_PARSE_ERROR');
  t.match(twice.message, /twice\.yaml:4: 'execution\.checkpointing\.interval' is already set on line 1/);

  const missing = await configErrorAsync(loadConfigFile(join(dir, 'nope.yaml')));
  t.equal(missing.code, 'FLOE_CONFIG_FILE_NOT_FOUND');
  t.match(missing.message, /nope\.yaml/);

  const directory = await configErrorAsync(loadConfigFile(dir));
  t.equal(directory.code, 'FLOE_CONFIG_FILE_UNREADABLE', 'a directory is not a configuration file');

  // A file written after the fact (as the CLI would meet it) reads the same.
  await writeFile(join(dir, 'late.yaml'), 'rest:\n  port: 9091\n');
  t.equal((await loadConfigFile(join(dir, 'late.yaml'))).get('rest.port'), 9091);
});

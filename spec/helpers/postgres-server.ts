// A PostgreSQL 15 server on loopback for a spec: initdb into a temporary directory, random free port, stopped at the end.
//
// postgres refuses to run as root: as root, the server runs as the `postgres` system user
// (Debian's package creates it) through runuser, in a directory that user owns.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

const BIN = '/usr/lib/postgresql/15/bin';

/** Why no server can be started here, or null if one can. */
export function postgresUnavailable(): string | null {
  if (!existsSync(join(BIN, 'initdb'))) return `PostgreSQL 15 is not installed (${BIN}/initdb missing): apt-get install -y postgresql`;
  if (userInfo().uid === 0 && spawnSync('id', ['-u', 'postgres'], { stdio: 'ignore' }).status !== 0) {
    return 'running as root and there is no postgres user to run the server as';
  }
  return null;
}

export interface PostgresServerOptions {
  /** max_prepared_transactions; 0 (PostgreSQL's default) disables PREPARE TRANSACTION */
  maxPreparedTransactions?: number;
}

export class PostgresServer {
  /** the server's command-line settings, kept for resume */
  private settings = '';

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly asUser: string | null,
  ) {}

  /** `postgres://` URL of the database `floe` as the superuser `floe` (trust authentication on loopback, no password) */
  get url(): string {
    return `postgres://floe@127.0.0.1:${this.port}/floe`;
  }

  static async start(options: PostgresServerOptions = {}): Promise<PostgresServer> {
    const root = mkdtempSync(join(tmpdir(), 'floe-pg-'));
    const asUser = userInfo().uid === 0 ? 'postgres' : null;
    if (asUser) {
      const uid = Number(execFileSync('id', ['-u', asUser]).toString());
      const gid = Number(execFileSync('id', ['-g', asUser]).toString());
      chownSync(root, uid, gid);
    }
    const server = new PostgresServer(root, await freePort(), asUser);
    const data = join(root, 'data');
    server.run('initdb', ['-D', data, '-U', 'floe', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
    const settings = [
      `-p ${server.port}`,
      `-k ${root}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c synchronous_commit=off',
      `-c max_prepared_transactions=${options.maxPreparedTransactions ?? 0}`,
      '-c max_connections=60',
    ].join(' ');
    server.settings = settings;
    await server.resume();
    server.run('createdb', ['-h', root, '-p', String(server.port), '-U', 'floe', 'floe']);
    return server;
  }

  /** Runs a PostgreSQL program, as the postgres user when we are root. */
  private run(program: string, args: string[]): void {
    const [command, argv] = this.asUser ? ['runuser', ['-u', this.asUser, '--', join(BIN, program), ...args]] : [join(BIN, program), args];
    const r = spawnSync(command, argv, { encoding: 'utf8', cwd: this.dir });
    if (r.status !== 0) {
      const log = existsSync(join(this.dir, 'log')) ? readFileSync(join(this.dir, 'log'), 'utf8') : '';
      throw new Error(`${program} failed (${r.status}): ${r.stderr}${r.stdout}${log}`);
    }
  }

  /** Stops the server as a crash would (immediate shutdown), keeping its data: resume brings it back. */
  async pause(): Promise<void> {
    this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  }

  /** (Re)starts the server on its port and data directory. */
  async resume(): Promise<void> {
    this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-l', join(this.dir, 'log'), '-w', '-t', '60', '-o', this.settings, 'start']);
  }

  async stop(): Promise<void> {
    const data = join(this.dir, 'data');
    if (existsSync(join(data, 'postmaster.pid'))) this.run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

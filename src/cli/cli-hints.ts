// REST errors in the CLI's terms: the server's hints speak to REST clients (JSON bodies, GET /jobs); the CLI says which argument, flag or command to use.
/** How the user called the server and which target directory they named: what a hint needs to be typed as it stands. */
export interface CliTerms {
  /** the -m the user gave; undefined when the default address or $FLOE_JOBMANAGER was used (a hint then needs no -m) */
  jobmanager?: string;
  /** the command again with a target directory added, `dir` where it goes; only commands that take one */
  withTarget?: (dir: string) => string;
  /** the target directory the user named, as typed (the server resolves it, as it resolves -D state.savepoints.dir) */
  target?: string;
}

/** `word` as one shell word: as it is when it is plain, else single-quoted. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** ` -m <address>` as the user gave it, or nothing. */
export function jobmanagerFlag(jobmanager: string | undefined): string {
  return jobmanager === undefined ? '' : ` -m ${shellWord(jobmanager)}`;
}

/** The CLI's hint for a code the server answered with, or undefined to keep the server's. */
export function cliHint(code: string, terms: CliTerms): string | undefined {
  const list = `\`floe list${jobmanagerFlag(terms.jobmanager)}\``;
  switch (code) {
    case 'FLOE_JOB_NOT_FOUND':
      return `${list} lists the jobs it runs, with their ids`;
    case 'FLOE_JOB_NOT_RUNNING':
      return `wait until the job is RUNNING (${list} shows its status)`;
    case 'FLOE_SAVEPOINT_NO_TARGET':
      if (!terms.withTarget) return undefined;
      return `name a target directory: \`${terms.withTarget('<dir>')}\`, or start the job with \`-D state.savepoints.dir=<dir>\``;
    case 'FLOE_REST_TARGET_NOT_ALLOWED': {
      const dir = terms.target === undefined ? '<dir>' : shellWord(terms.target);
      return `name a directory inside them, or allow this one when starting the job: \`floe run <job> -D state.savepoints.dir=${dir}\` (also the default target) or \`-D rest.savepoints.allowed-dirs=${dir}\``;
    }
    case 'FLOE_REST_UNAUTHORIZED':
      return "pass the server's rest.auth-token: `--token <token>`, or set FLOE_REST_TOKEN";
    case 'FLOE_REST_NOT_FOUND':
      return 'is this a floe REST API? `floe run` prints its address when it starts ("REST API listening on ..."); pass it with -m host:port';
    default:
      return undefined;
  }
}

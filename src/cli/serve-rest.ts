// `floe run` serves its job over the REST API on rest.address:rest.port (a busy port is a warning, not a failure).
import type { ClusterView } from '../cluster/cluster-views.ts';
import type { JobClient } from '../api/job-client.ts';
import type { Configuration } from '../config/configuration.ts';
import { FloeError } from '../errors.ts';
import { JobRegistry, startRestServer } from '../server/rest-server.ts';

export async function serveRest(
  client: JobClient,
  conf: Configuration,
  out: (line: string) => void,
  cluster?: ClusterView,
): Promise<() => Promise<void>> {
  const jobs = new JobRegistry();
  jobs.add(client);
  const savepointsDir = conf.get('state.savepoints.dir');
  const allowed = conf.get('rest.savepoints.allowed-dirs');
  try {
    const { app, address, port } = await startRestServer(jobs, {
      address: conf.get('rest.address'),
      port: conf.get('rest.port'),
      authToken: conf.get('rest.auth-token'),
      allowedDirs: allowed
        ? allowed
            .split(',')
            .map((d) => d.trim())
            .filter(Boolean)
        : [savepointsDir ?? process.cwd()],
      savepointsDir,
      bodyLimit: conf.get('rest.server.max-content-length'),
      corsAllowedOrigins: conf
        .get('rest.cors.allowed-origins')
        ?.split(',')
        .map((o) => o.trim())
        .filter(Boolean),
      ...(cluster ? { cluster } : {}),
    });
    out(`REST API listening on http://${address.includes(':') ? `[${address}]` : address}:${port} (floe list -m ${address}:${port})`);
    return async () => {
      // a stop or cancel over REST ends the job: let its client fetch the savepoint path before closing
      await app.savepointTriggers.outcomesRead(3000);
      await app.close();
    };
  } catch (error) {
    if (error instanceof FloeError && error.code === 'FLOE_REST_LISTEN_FAILED') {
      out(`warning: ${error.message}; the job runs without it (${error.hint})`);
      return async () => {};
    }
    throw error;
  }
}

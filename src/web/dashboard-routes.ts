// The dashboard on the REST server: its page at `/`, its files under `/web/`, its live websocket at `/live`.
import type { FastifyInstance } from 'fastify';
import type { JobClient } from '../api/job-client.ts';
import { attachLiveFeed, type LiveFeed, type LiveFeedOptions } from './live-feed.ts';
import { readAsset } from './static-assets.ts';

export function mountDashboard(app: FastifyInstance, jobs: { list(): JobClient[] }, options: LiveFeedOptions = {}): LiveFeed {
  const send = async (name: string, reply: import('fastify').FastifyReply) => {
    const asset = await readAsset(name);
    if (!asset) return reply.code(404).send({ errors: [`no dashboard file ${name}`], code: 'FLOE_REST_NOT_FOUND' });
    return reply.header('content-type', asset.type).header('cache-control', 'no-cache').send(asset.body);
  };
  app.get('/', (_request, reply) => send('dashboard.html', reply));
  app.get('/web/:name', (request, reply) => send((request.params as { name: string }).name, reply));
  const feed = attachLiveFeed(app.server, jobs, options);
  // before the server stops: server.close() waits for every socket, and an open page's websocket would keep `floe run` alive after its job
  app.addHook('preClose', async () => feed.close());
  return feed;
}

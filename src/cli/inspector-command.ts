// `floe inspector [--port 8080]`: serves the self-hosted xstate inspector until Ctrl-C.
import type { Command } from 'commander';
import { FloeError } from '../errors.ts';
import { startInspectorServer } from '../web/inspector-server.ts';

export function registerInspectorCommand(program: Command, print: (line: string) => void): void {
  program
    .command('inspector')
    .description(
      'serve a self-hosted xstate inspector: apps report with createWebSocketInspector({ url }) or floe run --inspect; open the page it prints',
    )
    .option('--port <n>', 'port of the inspector (0 picks a free one)', '8080')
    .option('--address <host>', 'address to listen on', '127.0.0.1')
    .action(async (options: { port: string; address: string }) => {
      const port = Number(options.port);
      if (!/^\d+$/.test(options.port) || port > 65535) {
        throw new FloeError('FLOE_USAGE', `--port must be a port number (0-65535), got '${options.port}'`, {
          hint: 'e.g. floe inspector --port 8080',
        });
      }
      const inspector = await startInspectorServer({ port, address: options.address });
      const host = inspector.address.includes(':') ? `[${inspector.address}]` : inspector.address;
      print(
        `inspector listening: open http://${host}:${inspector.port}/ ; apps report to ws://${host}:${inspector.port} (floe run job.ts --inspect=ws://${host}:${inspector.port})`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await inspector.close();
    });
}

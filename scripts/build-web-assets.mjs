// Part of `npm run build`: the pages' files (dashboard, inspector) into dist/web/assets/, with the browser build of
// the graph layout library they load. tsc copies no .html/.css/.js assets, and an installed floe must serve the
// dashboard from its own folder, whatever shape the user's node_modules has (hoisted, nested, pnpm, a bundled copy).
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const from = join(root, 'src/web/assets');
const to = join(root, 'dist/web/assets');
mkdirSync(to, { recursive: true });
cpSync(from, to, { recursive: true });

// dagre's UMD build (sets window.dagre), without its source-map comment (the map is not shipped), and its licence
const dagre = dirname(createRequire(import.meta.url).resolve('@dagrejs/dagre/package.json'));
const code = readFileSync(join(dagre, 'dist/dagre.min.js'), 'utf8').replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
writeFileSync(join(to, 'dagre.js'), code.replace('dagre.min.js.LEGAL.txt', 'dagre.LICENSE.txt'));
copyFileSync(join(dagre, 'dist/dagre.min.js.LEGAL.txt'), join(to, 'dagre.LICENSE.txt'));

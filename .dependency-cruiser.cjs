// The layers of DESIGN.md, written down once: a folder may import from its own layer and the ones below,
// never from a layer above, and no file takes part in an import cycle. `npm test` runs the check.
const LAYERS = [
  { name: 'ground', paths: ['src/errors\\.ts', 'src/warnings\\.ts', 'src/package-files\\.ts', 'src/config/'] },
  { name: 'model', paths: ['src/checkpoint/'] },
  { name: 'state', paths: ['src/backends/', 'src/storage/'] },
  { name: 'operators', paths: ['src/operators/', 'src/connectors/', 'src/graph/'] },
  { name: 'tasks', paths: ['src/actors/'] },
  { name: 'job', paths: ['src/coordinator/', 'src/savepoints/'] },
  { name: 'cluster', paths: ['src/cluster/'] },
  { name: 'surface', paths: ['src/api/', 'src/server/', 'src/web/', 'src/cli/', 'src/bench/', 'src/index\\.ts'] },
];

const pattern = (paths) => `^(${paths.join('|')})`;

const layerRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${i + 1}-${layer.name}`,
  comment: `${layer.name} (layer ${i + 1}) must not import from a layer above it (see DESIGN.md, Layers)`,
  severity: 'error',
  from: { path: pattern(layer.paths) },
  to: { path: pattern(LAYERS.slice(i + 1).flatMap((l) => l.paths)) },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      comment: 'an import cycle ties its files into one layer: break it by moving the shared part down',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'src-not-from-spec-or-bench',
      comment: 'src must not import specs, benchmarks or examples',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(spec|bench|examples)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    // type-only imports count: a type from a higher layer ties the layers as much as a value does
    tsPreCompilationDeps: true,
    parser: 'swc',
  },
};

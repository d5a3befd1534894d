// The checkpointing modes `floe bench alignment` compares: apart, so the CLI lists them without loading the bench.
export const MODES = ['exactly-once', 'at-least-once', 'unaligned', 'aligned-timeout'] as const;
export type BenchMode = (typeof MODES)[number];

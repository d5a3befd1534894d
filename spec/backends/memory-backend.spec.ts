// The `memory` state backend runs the shared conformance suite.
import { presets, runConformance } from './conformance.ts';

runConformance(presets.find((p) => p.name === 'memory')!);

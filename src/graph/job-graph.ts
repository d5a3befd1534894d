// The job graph: transformations chained into vertices, joined by partitioned edges.
import { JobDefinitionError } from '../errors.ts';
import type { Partitioning, Transformation } from './transformation.ts';
import { assignGeneratedUids } from './uid.ts';

export interface JobEdge {
  source: JobVertex;
  target: JobVertex;
  partitioning: Partitioning;
}

/** One task type: a chain of operators with forward edges and equal parallelism. */
export interface JobVertex {
  readonly id: string;
  readonly name: string;
  readonly parallelism: number;
  /** head first; the head is a source or reads the vertex's inputs */
  readonly chain: Transformation[];
  readonly inputs: JobEdge[];
  readonly outputs: JobEdge[];
}

/**
 * What a person reads for one subtask, as Flink names tasks: the chained operators' names, then
 * `(i+1/parallelism)`, e.g. `Reduce -> FileSink (1/2)`. Machines keep reading `vertex#index`.
 */
export function subtaskName(vertex: Pick<JobVertex, 'name' | 'parallelism'>, subtaskIndex: number): string {
  return `${vertex.name} (${subtaskIndex + 1}/${vertex.parallelism})`;
}

export interface JobGraph {
  readonly vertices: JobVertex[];
  readonly maxParallelism: number;
  /** operators that got a generated uid (the job cannot evolve safely) */
  readonly generatedUids: string[];
}

export function buildJobGraph(transformations: Transformation[], defaultParallelism: number, maxParallelism: number): JobGraph {
  if (!transformations.some((t) => t.kind === 'sink')) {
    throw new JobDefinitionError('FLOE_JOB_NO_SINK', 'the job has no sink, so it would compute nothing visible', {
      hint: 'end the pipeline with .print(), .sinkTo(new FileSink(dir)) or .sinkTo(new CollectSink(array))',
    });
  }
  const generated = assignGeneratedUids(transformations).map((t) => t.uid!);
  const uids = new Map<string, Transformation>();
  for (const t of transformations) {
    if (uids.has(t.uid!)) {
      throw new JobDefinitionError(
        'FLOE_DUPLICATE_UID',
        `two operators have uid '${t.uid}' ('${uids.get(t.uid!)!.name}' and '${t.name}')`,
        {
          hint: 'give every operator its own .uid(...)',
        },
      );
    }
    uids.set(t.uid!, t);
  }
  const parallelism = (t: Transformation): number => {
    const p = t.fixedParallelism ?? t.parallelism ?? defaultParallelism;
    if (p > maxParallelism) {
      throw new JobDefinitionError(
        'FLOE_PARALLELISM_TOO_HIGH',
        `operator '${t.name}' has parallelism ${p}, above the max parallelism ${maxParallelism}`,
        {
          hint: 'lower the parallelism or raise pipeline.max-parallelism',
        },
      );
    }
    return p;
  };
  const consumers = new Map<Transformation, Transformation[]>();
  for (const t of transformations) {
    for (const input of [t.input, ...(t.extraInputs ?? [])]) {
      if (input) consumers.set(input.transformation, [...(consumers.get(input.transformation) ?? []), t]);
    }
  }
  const edgeOf = (t: Transformation, input = t.input!): Partitioning => {
    if (input.partitioning) return input.partitioning;
    return parallelism(input.transformation) === parallelism(t) ? { type: 'forward' } : { type: 'rebalance' };
  };
  const chainsWithInput = (t: Transformation): boolean =>
    !!t.input &&
    !t.extraInputs &&
    edgeOf(t).type === 'forward' &&
    parallelism(t.input.transformation) === parallelism(t) &&
    consumers.get(t.input.transformation)!.length === 1;

  const vertexOf = new Map<Transformation, { chain: Transformation[] }>();
  const chains: Transformation[][] = [];
  for (const t of transformations) {
    if (chainsWithInput(t)) {
      const chain = vertexOf.get(t.input!.transformation)!;
      chain.chain.push(t);
      vertexOf.set(t, chain);
    } else {
      const chain = { chain: [t] };
      chains.push(chain.chain);
      vertexOf.set(t, chain);
    }
  }
  const vertices: JobVertex[] = chains.map((chain, i) => ({
    id: `v${i}`,
    name: chain.map((t) => t.name).join(' -> '),
    parallelism: parallelism(chain[0]!),
    chain,
    inputs: [],
    outputs: [],
  }));
  const vertexByMember = new Map<Transformation, JobVertex>();
  for (const v of vertices) for (const t of v.chain) vertexByMember.set(t, v);
  for (const v of vertices) {
    const head = v.chain[0]!;
    for (const input of [head.input, ...(head.extraInputs ?? [])]) {
      if (!input) continue;
      const source = vertexByMember.get(input.transformation)!;
      const edge: JobEdge = { source, target: v, partitioning: edgeOf(head, input) };
      if (edge.partitioning.type === 'forward' && source.parallelism !== v.parallelism) {
        throw new JobDefinitionError(
          'FLOE_FORWARD_PARALLELISM',
          `forward edge between '${source.name}' and '${v.name}' with different parallelism`,
        );
      }
      v.inputs.push(edge);
      source.outputs.push(edge);
    }
  }
  return { vertices, maxParallelism, generatedUids: generated };
}

// The job graph: transformations chained into vertices, joined by partitioned edges.
import { JobDefinitionError } from '../errors.ts';
import type { Partitioning, Transformation, TransformationInput } from './transformation.ts';
import { assignGeneratedUids } from './uid.ts';

export interface JobEdge {
  source: JobVertex;
  target: JobVertex;
  partitioning: Partitioning;
  /** the side output of the source's last operator this edge carries; null: its main output */
  outputTag: string | null;
}

/** One task type: a chain of operators with forward edges and equal parallelism. */
export interface JobVertex {
  readonly id: string;
  readonly name: string;
  readonly parallelism: number;
  /** head first; the head is a source or reads the vertex's inputs */
  readonly chain: Transformation[];
  /** per chain member, the output of the member before it that it reads: a side output's tag, or null (main output) */
  readonly chainTags: Array<string | null>;
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
  // virtual side-output selections get uids too (as they did as operators): the generated uids behind them stay the same
  const generated = assignGeneratedUids(transformations)
    .filter((t) => !t.selectsOutput)
    .map((t) => t.uid!);
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
  // the operators' inputs with virtual side-output selections resolved: the operator itself, and the tag
  const operators = transformations.filter((t) => !t.selectsOutput);
  const inputsOf = new Map<Transformation, ResolvedInput[]>();
  for (const t of operators) inputsOf.set(t, [t.input, ...(t.extraInputs ?? [])].filter((i) => !!i).map(resolveInput));
  const consumers = new Map<Transformation, Transformation[]>();
  for (const t of operators) {
    for (const input of inputsOf.get(t)!) consumers.set(input.transformation, [...(consumers.get(input.transformation) ?? []), t]);
  }
  const edgeOf = (t: Transformation, input: ResolvedInput): Partitioning => {
    if (input.partitioning) return input.partitioning;
    return parallelism(input.transformation) === parallelism(t) ? { type: 'forward' } : { type: 'rebalance' };
  };
  const chainsWithInput = (t: Transformation): boolean => {
    const inputs = inputsOf.get(t)!;
    const input = inputs[0];
    return (
      inputs.length === 1 &&
      !!input &&
      edgeOf(t, input).type === 'forward' &&
      parallelism(input.transformation) === parallelism(t) &&
      consumers.get(input.transformation)!.length === 1
    );
  };

  const vertexOf = new Map<Transformation, { chain: Transformation[]; tags: Array<string | null> }>();
  const chains: Array<{ chain: Transformation[]; tags: Array<string | null> }> = [];
  for (const t of operators) {
    if (chainsWithInput(t)) {
      const input = inputsOf.get(t)![0]!;
      const chain = vertexOf.get(input.transformation)!;
      chain.chain.push(t);
      chain.tags.push(input.outputTag);
      vertexOf.set(t, chain);
    } else {
      const chain = { chain: [t], tags: [null] };
      chains.push(chain);
      vertexOf.set(t, chain);
    }
  }
  const vertices: JobVertex[] = chains.map(({ chain, tags }, i) => ({
    id: `v${i}`,
    name: chain.map((t) => t.name).join(' -> '),
    parallelism: parallelism(chain[0]!),
    chain,
    chainTags: tags,
    inputs: [],
    outputs: [],
  }));
  const vertexByMember = new Map<Transformation, JobVertex>();
  for (const v of vertices) for (const t of v.chain) vertexByMember.set(t, v);
  for (const v of vertices) {
    const head = v.chain[0]!;
    for (const input of inputsOf.get(head)!) {
      const source = vertexByMember.get(input.transformation)!;
      const edge: JobEdge = { source, target: v, partitioning: edgeOf(head, input), outputTag: input.outputTag };
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

interface ResolvedInput {
  transformation: Transformation;
  partitioning?: Partitioning;
  outputTag: string | null;
}

/** An input with a virtual side-output selection replaced by the operator it selects from and the tag. */
function resolveInput(input: TransformationInput): ResolvedInput {
  const selects = input.transformation.selectsOutput;
  if (!selects) return { transformation: input.transformation, partitioning: input.partitioning, outputTag: input.outputTag ?? null };
  const selected = resolveInput(input.transformation.input!);
  return { transformation: selected.transformation, partitioning: input.partitioning ?? selected.partitioning, outputTag: selects.tag };
}

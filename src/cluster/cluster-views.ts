// What the REST API shows of a cluster, in Flink's shapes: /taskmanagers, /taskmanagers/:id, /jobs/:id/vertices/:vid/taskmanagers.
import type { JobExecution } from '../coordinator/execution-graph.ts';
import type { JobGraph } from '../graph/job-graph.ts';
import type { JobManagerEndpoint, RegisteredTaskManager } from './job-manager-endpoint.ts';
import { RemoteExecution } from './remote-execution.ts';

export interface ClusterView {
  taskManagers(): unknown[];
  taskManager(id: string): unknown | undefined;
  /** null: the vertex is unknown */
  vertexTaskManagers(graph: JobGraph, execution: JobExecution | null, vertexId: string): unknown | null;
}

export function clusterView(endpoint: JobManagerEndpoint): ClusterView {
  const info = (tm: RegisteredTaskManager) => ({
    id: tm.id,
    path: tm.data,
    pid: tm.pid,
    slotsNumber: tm.slots,
    timeSinceLastHeartbeat: Date.now() - tm.lastSeen,
  });
  return {
    taskManagers: () => endpoint.taskManagers.map(info),
    taskManager: (id) => {
      const tm = endpoint.taskManagers.find((t) => t.id === id);
      return tm && info(tm);
    },
    vertexTaskManagers: (graph, execution, vertexId) => {
      const vertex = graph.vertices.find((v) => v.id === vertexId);
      if (!vertex) return null;
      const placement = execution instanceof RemoteExecution ? execution.placement : {};
      const byTm = new Map<string, number[]>();
      for (let i = 0; i < vertex.parallelism; i++) {
        const tm = placement[`${vertexId}#${i}`];
        if (tm) byTm.set(tm, [...(byTm.get(tm) ?? []), i]);
      }
      return {
        id: vertex.id,
        name: vertex.name,
        now: Date.now(),
        taskmanagers: [...byTm].map(([id, subtasks]) => {
          const tm = endpoint.taskManagers.find((t) => t.id === id);
          return { 'taskmanager-id': id, host: tm?.data ?? null, status: tm ? 'RUNNING' : 'LOST', subtasks };
        }),
      };
    },
  };
}

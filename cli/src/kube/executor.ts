// Runs a list of work items as one Kubernetes Indexed Job: writes the items to the object store, creates the Job
// through the Kubernetes API (@kubernetes/client-node), follows its status until it completes, and collects each
// index's result from the object store. A Job of the same name that already exists (a runner restarted after an
// interruption) is followed rather than created again; its finished items are not redone (the pods skip them).
import { setTimeout as sleep } from "node:timers/promises";
import { BatchV1Api, KubeConfig, type V1Job } from "@kubernetes/client-node";
import { type ObjectStore, putWorkItems, tryReadWorkResult } from "@synthmri/platform";
import { buildIndexedJob, type ClusterSettings, type IndexedWork } from "./manifests.js";

/** The two Job calls the executor needs: the real client, or a stand-in in tests. */
export interface JobsApi {
  createNamespacedJob(p: { namespace: string; body: V1Job }): Promise<V1Job>;
  readNamespacedJobStatus(p: { name: string; namespace: string }): Promise<V1Job>;
}

/** In-cluster config when the runner runs in a pod (its ServiceAccount), the kubeconfig otherwise. */
export function kubeJobsApi(kubeconfig?: string): JobsApi {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  return kc.makeApiClient(BatchV1Api);
}

export interface IndexedRun<I> extends Omit<IndexedWork, "completions" | "env"> {
  items: readonly I[];
  /** Object-store prefix for the items and results (the pods get it as WORK_PREFIX). */
  prefix: string;
  env?: Record<string, string>;
}

export interface KubeExecutorOptions {
  api: JobsApi;
  store: ObjectStore;
  cluster: ClusterSettings;
  /** How often the Job's status is read. */
  pollMs?: number;
  signal?: AbortSignal;
  onStatus?: (s: { name: string; succeeded: number; failed: number; active: number; total: number }) => void;
}

export class KubeJobFailed extends Error {}

const conflict = (e: unknown) => (e as { code?: number }).code === 409;

export async function runIndexedJob<I, R>(run: IndexedRun<I>, o: KubeExecutorOptions): Promise<R[]> {
  const { api, store, cluster } = o;
  await putWorkItems(store, run.prefix, run.items);
  const body = buildIndexedJob(
    { ...run, completions: run.items.length, env: { ...run.env, WORK_PREFIX: run.prefix } },
    cluster,
  );
  const ref = { name: run.name, namespace: cluster.namespace };
  try {
    await api.createNamespacedJob({ namespace: cluster.namespace, body });
  } catch (e) {
    if (!conflict(e)) throw e;
  }
  for (;;) {
    const job = await api.readNamespacedJobStatus(ref);
    const s = job.status ?? {};
    o.onStatus?.({
      name: run.name,
      succeeded: s.succeeded ?? 0,
      failed: s.failed ?? 0,
      active: s.active ?? 0,
      total: run.items.length,
    });
    const done = (type: string) => s.conditions?.some((c) => c.type === type && c.status === "True");
    if (done("Complete")) break;
    if (done("Failed")) {
      const why = s.conditions?.find((c) => c.type === "Failed")?.message ?? "";
      throw new KubeJobFailed(
        `Kubernetes Job ${run.name} failed (failed indexes ${s.failedIndexes ?? "?"}${why ? `: ${why}` : ""}); ` +
          `see kubectl logs -n ${cluster.namespace} -l job-name=${run.name}`,
      );
    }
    await sleep(o.pollMs ?? 5000, undefined, { signal: o.signal });
  }
  const results: R[] = [];
  for (let i = 0; i < run.items.length; i++) {
    const r = await tryReadWorkResult<R>(store, run.prefix, i);
    if (r === undefined)
      throw new KubeJobFailed(`Job ${run.name} completed but index ${i} wrote no result under ${run.prefix}`);
    results.push(r);
  }
  return results;
}

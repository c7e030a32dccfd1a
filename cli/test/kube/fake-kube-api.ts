// A stand-in for the Kubernetes API server's batch/v1 Jobs endpoints, enough for @kubernetes/client-node's
// createNamespacedJob and readNamespacedJobStatus. Creating an Indexed Job "runs its pods": each index calls
// runPod(index, attempt) (in-process, as the pod's entrypoint would run), at most `parallelism` at once; a pod that
// throws is retried up to backoffLimitPerIndex times, as the Job controller does; status follows.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { V1Job } from "@kubernetes/client-node";

export type RunPod = (job: V1Job, index: number, attempt: number) => Promise<void>;

export interface FakeKube {
  url: string;
  jobs: Map<string, V1Job>;
  /** Pods started per index (retries included). */
  attempts: Map<number, number>;
  maxRunning: number;
  close(): Promise<void>;
}

export async function startFakeKube(runPod: RunPod): Promise<FakeKube> {
  const jobs = new Map<string, V1Job>();
  const attempts = new Map<number, number>();
  const state = { running: 0, maxRunning: 0 };

  async function runJob(job: V1Job): Promise<void> {
    const spec = job.spec ?? {};
    const completions = spec.completions ?? 1;
    const parallelism = spec.parallelism ?? 1;
    const retries = spec.backoffLimitPerIndex ?? 0;
    const status = { active: 0, succeeded: 0, failed: 0, conditions: [] as NonNullable<V1Job["status"]>["conditions"] };
    job.status = status;
    const failedIndexes: number[] = [];
    let next = 0;
    const worker = async () => {
      for (let index = next++; index < completions; index = next++) {
        for (let attempt = 0; ; attempt++) {
          attempts.set(index, (attempts.get(index) ?? 0) + 1);
          status.active++;
          state.maxRunning = Math.max(state.maxRunning, ++state.running);
          try {
            await runPod(job, index, attempt);
            status.succeeded++;
            break;
          } catch {
            status.failed++;
            if (attempt >= retries) {
              failedIndexes.push(index);
              break;
            }
          } finally {
            status.active--;
            state.running--;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: parallelism }, worker));
    const failed = failedIndexes.length > 0;
    status.conditions = [
      {
        type: failed ? "Failed" : "Complete",
        status: "True",
        message: failed ? "Job has failed indexes" : undefined,
        lastProbeTime: undefined,
        lastTransitionTime: undefined,
      },
    ];
    if (failed) Object.assign(status, { failedIndexes: failedIndexes.sort().join(",") });
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const send = (code: number, body: unknown) => {
        res.writeHead(code, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      const create = url.pathname.match(/^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs$/);
      const read = url.pathname.match(/^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs\/([^/]+)(\/status)?$/);
      if (req.method === "POST" && create) {
        const job = JSON.parse(Buffer.concat(chunks).toString("utf8")) as V1Job;
        const key = `${create[1]}/${job.metadata?.name}`;
        if (jobs.has(key)) return send(409, { kind: "Status", code: 409, reason: "AlreadyExists" });
        jobs.set(key, job);
        void runJob(job);
        return send(201, job);
      }
      if (req.method === "GET" && read) {
        const job = jobs.get(`${read[1]}/${read[2]}`);
        return job ? send(200, job) : send(404, { kind: "Status", code: 404, reason: "NotFound" });
      }
      send(404, { kind: "Status", code: 404, reason: "NotFound", message: `${req.method} ${url.pathname}` });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    jobs,
    attempts,
    get maxRunning() {
      return state.maxRunning;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

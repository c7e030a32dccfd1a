// jobHandlers over real gRPC: the full view, and a view narrowed by `visible` (each caller sees only the jobs
// it started; another caller's job answers NOT_FOUND exactly like an unknown id). Also `reflection: false`.
import * as grpc from "@grpc/grpc-js";
import { JobService, JobState } from "@synthmri/contracts";
import { InvalidInput, JobRunner, MemoryObjectStore } from "@synthmri/platform";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authInterceptor, bearerToken, createClient, createServer, jobHandlers, type RpcServer } from "../src/index.js";
import { rpcFailure as failure, reflectionCode } from "../src/testing.js";

let jobs: JobRunner;
let full: RpcServer;
let scoped: RpcServer;
let fullAddr: string;
let scopedAddr: string;
/** Jobs of owners "a" and "b"; "a-blocked" waits until released. */
const ids: Record<string, string> = {};
let release: () => void = () => undefined;

beforeAll(async () => {
  jobs = new JobRunner({ store: new MemoryObjectStore(), service: "testsvc", concurrency: 4 });
  const blocked = new Promise<void>((r) => {
    release = r;
  });
  ids.a = jobs.start("work", { owner: "a" }, async () => ({ outputs: { n: "1" }, artifacts: [] }));
  ids.b = jobs.start("work", { owner: "b" }, async () => ({ outputs: {}, artifacts: [] }));
  ids.aBlocked = jobs.start("work", { owner: "a" }, async (ctx) => {
    await Promise.race([
      blocked,
      new Promise((_, rej) => ctx.signal.addEventListener("abort", () => rej(ctx.signal.reason))),
    ]);
    return { outputs: {}, artifacts: [] };
  });
  await jobs.wait(ids.a);
  await jobs.wait(ids.b);

  full = createServer({ metrics: false }).add(JobService, jobHandlers(jobs));
  fullAddr = `127.0.0.1:${await full.listen("127.0.0.1", 0)}`;
  scoped = createServer({
    metrics: false,
    reflection: false,
    interceptors: [authInterceptor((call) => bearerToken(call.metadata))],
  }).add(
    JobService,
    jobHandlers(jobs, {
      visible: (job, ctx) => (job.params as { owner?: string }).owner === ctx.state.principal,
    }),
  );
  scopedAddr = `127.0.0.1:${await scoped.listen("127.0.0.1", 0)}`;
});

afterAll(async () => {
  release();
  await full?.shutdown(500);
  await scoped?.shutdown(500);
  await jobs?.shutdown({ graceMs: 500 });
});

const as = (owner: string) =>
  createClient(JobService, scopedAddr, { metadata: { authorization: `Bearer ${owner}` }, retry: false });

describe("jobHandlers", () => {
  it("shows every job without a filter", async () => {
    const c = createClient(JobService, fullAddr, { retry: false });
    const list = await c.listJobs({});
    expect(list.jobs.map((j) => j.id).sort()).toEqual([ids.a, ids.b, ids.aBlocked].sort());
    expect((await c.getJob({ jobId: ids.b })).job?.state).toBe(JobState.SUCCEEDED);
    c.close();
  });

  it("narrows Get/Watch/Cancel/List to the visible jobs; the others read as unknown ids", async () => {
    const a = as("a");
    expect((await a.getJob({ jobId: ids.a })).job?.outputs).toEqual({ n: "1" });
    const states = [];
    for await (const w of a.watchJob({ jobId: ids.a })) states.push(w.job?.state);
    expect(states.at(-1)).toBe(JobState.SUCCEEDED);
    expect((await a.listJobs({})).jobs.map((j) => j.id).sort()).toEqual([ids.a, ids.aBlocked].sort());

    const unknown = await failure(a.getJob({ jobId: "job-doesnotexist" }));
    expect(unknown.code).toBe(5);
    const other = await failure(a.getJob({ jobId: ids.b }));
    expect(other.code).toBe(5);
    // Same answer as an unknown id, so a caller cannot probe which ids exist.
    expect(other.details).toBe(`job "${ids.b}" not found in service testsvc`);
    expect(unknown.details).toBe('job "job-doesnotexist" not found in service testsvc');

    const watched: unknown[] = [];
    const watch = await failure(
      (async () => {
        for await (const w of a.watchJob({ jobId: ids.b })) watched.push(w);
      })(),
    );
    expect(watch.code).toBe(5);
    expect(watched).toEqual([]);

    // b cannot cancel a's running job; a can.
    const b = as("b");
    expect((await failure(b.cancelJob({ jobId: ids.aBlocked }))).code).toBe(5);
    expect((await jobs.get(ids.aBlocked)).cancelRequested).toBe(false);
    expect((await b.listJobs({})).jobs.map((j) => j.id)).toEqual([ids.b]);
    await a.cancelJob({ jobId: ids.aBlocked, reason: "test" });
    expect((await jobs.wait(ids.aBlocked)).state).toBe("CANCELLED");
    a.close();
    b.close();
  });
});

describe("reflection option", () => {
  it("serves reflection by default and not with reflection: false", async () => {
    expect(await reflectionCode(fullAddr)).toBe(grpc.status.OK);
    expect(await reflectionCode(scopedAddr)).toBe(grpc.status.UNIMPLEMENTED);
  });
});

describe("job status: one meaning of error_code, progress units, mapped results", () => {
  it("sends the gRPC code name of the failure, done/total/unit and the mapped outputs", async () => {
    const runner = new JobRunner({ store: new MemoryObjectStore(), service: "unitsvc", concurrency: 2 });
    const bad = runner.start("import", {}, async (ctx) => {
      ctx.progress({ fraction: 0.5, phase: "import", message: "half", metrics: { done: 1, total: 2 } });
      throw new InvalidInput("subject 2 has no seg file");
    });
    const broken = runner.start("import", {}, async () => {
      throw new Error("disk on fire");
    });
    const good = runner.start("import", {}, async () => ({ datasetId: "ds-1", subjects: 2 }));
    await Promise.all([bad, broken, good].map((id) => runner.wait(id)));
    const server = createServer({ metrics: false }).add(
      JobService,
      jobHandlers(runner, {
        unitOf: (kind) => (kind === "import" ? "subjects" : ""),
        resultOf: (job) => {
          const r = job.result as { datasetId: string } | undefined;
          return r ? { outputs: { dataset_id: r.datasetId }, artifacts: [] } : undefined;
        },
      }),
    );
    const c = createClient(JobService, `127.0.0.1:${await server.listen("127.0.0.1", 0)}`, { retry: false });
    try {
      const failedJob = (await c.getJob({ jobId: bad })).job;
      expect(failedJob?.state).toBe(JobState.FAILED);
      expect(failedJob?.errorCode).toBe("INVALID_ARGUMENT");
      expect(failedJob?.errorMessage).toBe("subject 2 has no seg file");
      expect(failedJob?.progress).toMatchObject({ done: 1, total: 2, unit: "subjects" });
      const watched: (string | undefined)[] = [];
      for await (const w of c.watchJob({ jobId: bad })) watched.push(w.job?.errorCode);
      expect(watched.at(-1)).toBe("INVALID_ARGUMENT");
      expect((await c.getJob({ jobId: broken })).job?.errorCode).toBe("INTERNAL");
      const ok = (await c.getJob({ jobId: good })).job;
      expect(ok?.errorCode).toBe("");
      expect(ok?.outputs).toEqual({ dataset_id: "ds-1" });
    } finally {
      c.close();
      await server.shutdown(500);
      await runner.shutdown({ graceMs: 500 });
    }
  });
});

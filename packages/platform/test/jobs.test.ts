import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Cancelled,
  type EmbeddedS3,
  EtaEstimator,
  InvalidInput,
  type JobContext,
  JobRunner,
  type JobStatus,
  MemoryObjectStore,
  MinioObjectStore,
  NotFound,
  startEmbeddedS3,
  Unavailable,
} from "../src/index.js";

let dir: string;
let s3: EmbeddedS3;
let store: MinioObjectStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "platform-jobs-"));
  s3 = await startEmbeddedS3({ dataDir: dir });
  store = new MinioObjectStore({ ...s3, bucket: "test-jobs" });
  await store.ensureBucket();
});

afterAll(async () => {
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A promise plus its resolve, to hand control back and forth without timers. */
function gate<T = void>() {
  let open!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    open = r;
  });
  return { promise, open };
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
}

async function stored(service: string, id: string): Promise<JobStatus> {
  return JSON.parse((await store.getBuffer(`jobs/${service}/${id}.json`)).toString());
}

describe("JobRunner", () => {
  it("streams progress snapshots in order and ends at SUCCEEDED with the result", async () => {
    const runner = new JobRunner({ store, service: "order" });
    const steps = [gate(), gate(), gate()];
    const id = runner.start("ingest", { dir: "x" }, async (ctx) => {
      for (let i = 0; i < 3; i++) {
        ctx.progress({ fraction: (i + 1) / 4, message: `step ${i}`, phase: "import", metrics: { done: i + 1 } });
        await steps[i].promise;
      }
      return { datasetId: "ds-9" };
    });
    const seen: JobStatus[] = [];
    for await (const s of runner.watch(id)) {
      seen.push(s);
      // Hand the work its next step only once this snapshot arrived: every progress event must be seen.
      const m = /^step (\d)$/.exec(s.message);
      if (s.state === "RUNNING" && m) steps[Number(m[1])].open();
    }
    expect(seen.map((s) => s.state)).toEqual(["QUEUED", "RUNNING", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"]);
    expect(seen.slice(2, 5).map((s) => s.fraction)).toEqual([0.25, 0.5, 0.75]);
    expect(seen[4].metrics).toEqual({ done: 3 });
    const last = seen[seen.length - 1];
    expect(last).toMatchObject({ fraction: 1, result: { datasetId: "ds-9" }, phase: "import", etaSeconds: 0 });
    await runner.flush();
    expect(await stored("order", id)).toMatchObject({ state: "SUCCEEDED", params: { dir: "x" } });
    // A fresh runner (another process) reads it from the store.
    expect((await new JobRunner({ store, service: "order" }).get(id)).state).toBe("SUCCEEDED");
    await expect(runner.get("job-nope")).rejects.toThrow(NotFound);
  });

  it("cancel aborts the signal of running work and ends CANCELLED; queued jobs never start", async () => {
    const runner = new JobRunner({ store, service: "cancel", concurrency: 1 });
    let signal: AbortSignal | undefined;
    const running = runner.start("train", {}, async (ctx) => {
      signal = ctx.signal;
      return untilAborted(ctx.signal);
    });
    let queuedRan = false;
    const queued = runner.start("train", {}, async () => {
      queuedRan = true;
    });
    for await (const s of runner.watch(running)) if (s.state === "RUNNING") break;
    const q = await runner.cancel(queued);
    expect(q.state).toBe("CANCELLED");
    const c = await runner.cancel(running, "user pressed Ctrl-C");
    expect(c.cancelRequested).toBe(true);
    const final = await runner.wait(running);
    expect(final.state).toBe("CANCELLED");
    expect(final.message).toBe("user pressed Ctrl-C");
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(Cancelled);
    expect(queuedRan).toBe(false);
    expect((await runner.cancel(running)).state).toBe("CANCELLED"); // idempotent
  });

  it("a failing job carries the error kind and message", async () => {
    const runner = new JobRunner({ store, service: "fail" });
    const typed = runner.start("ingest", {}, async () => {
      throw new InvalidInput("subject 004: seg label 3 is not in scheme brats2020");
    });
    const plain = runner.start("ingest", {}, async () => {
      throw new Error("disk on fire");
    });
    expect((await runner.wait(typed)).error).toEqual({
      kind: "InvalidInput",
      message: "subject 004: seg label 3 is not in scheme brats2020",
    });
    const p = await runner.wait(plain);
    expect(p.state).toBe("FAILED");
    expect(p.error).toEqual({ kind: "Internal", message: "disk on fire" });
    expect(p.message).toBe("failed: disk on fire");
  });

  it("never runs more jobs at once than its concurrency", async () => {
    const runner = new JobRunner({ store, service: "conc", concurrency: 2 });
    let active = 0;
    let maxActive = 0;
    const gates = Array.from({ length: 5 }, () => gate());
    const started: number[] = [];
    const startedEvent: (() => void)[] = [];
    const ids = gates.map((g, i) =>
      runner.start("eval", { i }, async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        started.push(i);
        startedEvent.shift()?.();
        await g.promise;
        active--;
        return i;
      }),
    );
    const nextStart = () => new Promise<void>((r) => startedEvent.push(r));
    // Release jobs one at a time, each time waiting for the next to start.
    for (let released = 0; released < 5; released++) {
      if (started.length < Math.min(5, released + 2)) await nextStart();
      expect(active).toBeLessThanOrEqual(2);
      gates[released].open();
      await runner.wait(ids[released]);
    }
    expect(maxActive).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect((await runner.list()).map((s) => s.state)).toEqual(Array(5).fill("SUCCEEDED"));
  });

  it("persists progress throttled and state changes at once", async () => {
    const runner = new JobRunner({ store, service: "throttle", persistIntervalMs: 60_000 });
    const step = gate();
    const progressed = gate();
    const id = runner.start("train", {}, async (ctx) => {
      ctx.progress({ fraction: 0.5 });
      progressed.open();
      await step.promise;
    });
    await progressed.promise;
    await runner.flush();
    expect((await stored("throttle", id)).fraction).toBe(0.5);
    step.open();
    await runner.wait(id);
    await runner.flush();
    expect((await stored("throttle", id)).state).toBe("SUCCEEDED");
  });

  it("a status write that fails while the store is down is retried until it lands (FAILED stays FAILED)", async () => {
    const memory = new MemoryObjectStore("outage");
    await memory.ensureBucket();
    let down = false;
    let landed = gate();
    const flaky = new Proxy(memory, {
      get(target, prop, receiver) {
        if (prop !== "putObject") return Reflect.get(target, prop, receiver);
        return async (...args: Parameters<MemoryObjectStore["putObject"]>) => {
          if (down) throw new Unavailable("object store at memory is unreachable (ECONNREFUSED); check S3_ENDPOINT");
          const r = await target.putObject(...args);
          landed.open();
          return r;
        };
      },
    });
    const runner = new JobRunner({ store: flaky, service: "outage" });
    const started = gate();
    const fail = gate();
    const id = runner.start("import", {}, async () => {
      started.open();
      await fail.promise;
      throw new Unavailable("object store went away");
    });
    await started.promise;
    await runner.flush();
    down = true;
    fail.open();
    expect((await runner.wait(id)).state).toBe("FAILED");
    await runner.flush(); // gives up for now instead of hanging on a store that is down
    const read = async () => JSON.parse((await memory.getBuffer(`jobs/outage/${id}.json`)).toString()) as JobStatus;
    expect((await read()).state).toBe("RUNNING");
    landed = gate();
    down = false;
    await landed.promise;
    await runner.flush();
    expect((await read()).state).toBe("FAILED");
  });

  it("after a restart resumes jobs with a handler and fails the others", async () => {
    const before = new JobRunner({ store, service: "restart", concurrency: 2 });
    const both = gate();
    let runningCount = 0;
    const blocked = async (ctx: JobContext) => {
      ctx.progress({ fraction: 0.3, message: "epoch 3/10" });
      if (++runningCount === 2) both.open();
      return untilAborted(ctx.signal);
    };
    const trainId = before.start("train-gan", { epochs: 10 }, blocked);
    const otherId = before.start("evaluate", { k: 1 }, blocked);
    await both.promise;
    // Simulated crash: the statuses reached the store, the process never finished them.
    await before.flush();
    expect((await stored("restart", trainId)).state).toBe("RUNNING");

    const after = new JobRunner({ store, service: "restart" });
    let resumedWith: unknown;
    const recovered = await after.recover({
      "train-gan": async (ctx: JobContext<{ epochs: number }>) => {
        resumedWith = { params: ctx.params, resumed: ctx.resumed, attempt: ctx.attempt };
        return "finished";
      },
    });
    expect(recovered).toEqual({ resumed: [trainId], failed: [otherId] });
    const t = await after.wait(trainId);
    expect(t).toMatchObject({ state: "SUCCEEDED", result: "finished", attempt: 2 });
    expect(resumedWith).toEqual({ params: { epochs: 10 }, resumed: true, attempt: 2 });
    const o = await after.get(otherId);
    expect(o.state).toBe("FAILED");
    expect(o.error?.message).toMatch(/interrupted by restart/);
    await after.flush();
    expect((await stored("restart", otherId)).state).toBe("FAILED");

    // Graceful shutdown leaves running jobs RUNNING in the store for the next recover().
    await before.shutdown({ graceMs: 5_000 });
    expect(() => before.start("x", {}, async () => {})).toThrow(/shutting down/);
  });

  it("estimates the ETA from the progress rate", async () => {
    const eta = new EtaEstimator();
    eta.add(0, 0);
    expect(eta.estimate()).toBeUndefined();
    eta.add(10_000, 0.5);
    expect(eta.estimate()).toBeCloseTo(10);
    let t = 0;
    const runner = new JobRunner({ store, service: "eta", now: () => t });
    const seen = gate<JobStatus>();
    const id = runner.start("train", {}, async (ctx) => {
      t = 20_000;
      ctx.progress({ fraction: 0.25 });
      seen.open(await runner.get(ctx.id));
    });
    expect((await seen.promise).etaSeconds).toBeCloseTo(60);
    await runner.wait(id);
  });
});

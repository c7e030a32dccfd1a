// The Kubernetes executor against a fake API server (fake-kube-api.ts) whose "pods" run a checkpointing worker
// in-process, reading their item and writing their result through the same work-item layout as the real
// entrypoints (services/segmenter/src/run-main.ts): items spread over `gpus` pods at once, a pod that dies is
// retried and resumes from its checkpoint, results come back in item order and equal running every item locally.
import { BatchV1Api, KubeConfig, type V1Job } from "@kubernetes/client-node";
import { MemoryObjectStore, NotFound, putWorkResult, readWorkItem } from "@synthmri/platform";
import { afterEach, describe, expect, it } from "vitest";

async function memoryStore() {
  const s = new MemoryObjectStore("b");
  await s.ensureBucket();
  return s;
}
import { runIndexedJob } from "../../src/kube/executor.js";
import { DEFAULT_CLUSTER } from "../../src/kube/manifests.js";
import { type FakeKube, startFakeKube } from "./fake-kube-api.js";

interface Item {
  seed: number;
  steps: number;
}

/** A tiny "training": a seeded recurrence over `steps` steps, checkpointed after every step. */
function makeWorker(store: MemoryObjectStore, crashAt?: { index: number; step: number }) {
  const resumedFrom = new Map<number, number>();
  const work = async (prefix: string, index: number, attempt: number): Promise<void> => {
    const item = await readWorkItem<Item>(store, prefix, index);
    const ckpt = `${prefix}/ckpt/${index}.json`;
    let state = { step: 0, value: item.seed };
    try {
      state = JSON.parse((await store.getBuffer(ckpt)).toString("utf8"));
    } catch (e) {
      if (!(e instanceof NotFound)) throw e;
    }
    resumedFrom.set(index, state.step);
    while (state.step < item.steps) {
      state = { step: state.step + 1, value: (state.value * 1103515245 + 12345) % 2147483648 };
      await store.putObject(ckpt, Buffer.from(JSON.stringify(state)));
      if (crashAt && crashAt.index === index && attempt === 0 && state.step === crashAt.step)
        throw new Error("pod evicted");
    }
    await putWorkResult(store, prefix, index, { index, value: state.value });
  };
  return { work, resumedFrom };
}

const envOf = (job: V1Job, name: string) =>
  job.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === name)?.value ?? "";

let kube: FakeKube | undefined;
afterEach(async () => {
  await kube?.close();
  kube = undefined;
});

function apiFor(url: string) {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: "fake", server: url, skipTLSVerify: true }, { name: "runner" });
  return kc.makeApiClient(BatchV1Api);
}

const items: Item[] = Array.from({ length: 7 }, (_, i) => ({ seed: 1000 + i, steps: 5 }));

describe("runIndexedJob on a fake Kubernetes API", () => {
  it("spreads the items over the GPUs, retries a failed index from its checkpoint and collects the results", async () => {
    const store = await memoryStore();
    const worker = makeWorker(store, { index: 3, step: 2 });
    kube = await startFakeKube((job, index, attempt) => worker.work(envOf(job, "WORK_PREFIX"), index, attempt));
    const statuses: number[] = [];
    const got = await runIndexedJob<Item, { index: number; value: number }>(
      {
        name: "unet-exp1-real",
        service: "segmenter",
        component: "unet-run",
        entrypoint: "services/segmenter/src/run-main.ts",
        items,
        prefix: "kube-work/exp1/unet-real",
      },
      {
        api: apiFor(kube.url),
        store,
        cluster: { ...DEFAULT_CLUSTER, namespace: "synthmri", gpus: 3, backoffLimitPerIndex: 2 },
        pollMs: 5,
        onStatus: (s) => statuses.push(s.succeeded),
      },
    );
    const job = kube.jobs.get("synthmri/unet-exp1-real");
    expect(job?.spec?.parallelism).toBe(3);
    expect(job?.spec?.completions).toBe(7);
    expect(kube.maxRunning).toBeGreaterThan(1);
    expect(kube.maxRunning).toBeLessThanOrEqual(3);
    // index 3 died after step 2: one retry, which started from the step-2 checkpoint, not from scratch
    expect(kube.attempts.get(3)).toBe(2);
    expect(worker.resumedFrom.get(3)).toBe(2);
    expect([...kube.attempts.entries()].filter(([i]) => i !== 3).every(([, n]) => n === 1)).toBe(true);
    expect(got.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(statuses.at(-1)).toBe(7);

    // The same items run one after another in this process (the local way) give the same results.
    const local = await memoryStore();
    const plain = makeWorker(local);
    for (const [i] of items.entries()) {
      await local.putObject(`p/items/${i}.json`, Buffer.from(JSON.stringify(items[i])));
      await plain.work("p", i, 0);
    }
    const localResults = await Promise.all(
      items.map(async (_, i) => JSON.parse((await local.getBuffer(`p/results/${i}.json`)).toString("utf8"))),
    );
    expect(got).toEqual(localResults);
  }, 60_000);

  it("reports an index that fails every retry, naming the Job", async () => {
    const store = await memoryStore();
    kube = await startFakeKube(async (_job, index) => {
      if (index === 1) throw new Error("out of GPU memory");
    });
    await expect(
      runIndexedJob(
        {
          name: "gan-exp1",
          service: "generator",
          component: "gan-member",
          entrypoint: "services/generator/src/member-main.ts",
          items: [{}, {}],
          prefix: "kube-work/exp1/gan",
        },
        { api: apiFor(kube.url), store, cluster: { ...DEFAULT_CLUSTER, backoffLimitPerIndex: 1 }, pollMs: 5 },
      ),
    ).rejects.toThrow(/gan-exp1 failed \(failed indexes 1/);
    expect(kube.attempts.get(1)).toBe(2);
  }, 60_000);

  it("follows a Job that already exists instead of creating it twice (a restarted runner)", async () => {
    const store = await memoryStore();
    const worker = makeWorker(store);
    kube = await startFakeKube((job, index, attempt) => worker.work(envOf(job, "WORK_PREFIX"), index, attempt));
    const run = {
      name: "unet-again",
      service: "segmenter" as const,
      component: "unet-run" as const,
      entrypoint: "services/segmenter/src/run-main.ts",
      items: items.slice(0, 2),
      prefix: "kube-work/again",
    };
    const o = { api: apiFor(kube.url), store, cluster: DEFAULT_CLUSTER, pollMs: 5 };
    const first = await runIndexedJob(run, o);
    const second = await runIndexedJob(run, o);
    expect(second).toEqual(first);
    expect(kube.attempts.get(0)).toBe(1);
  }, 60_000);
});

// GAN ensembles on the Kubernetes executor, against the fake API server (fake-kube-api.ts) whose "pods" run the
// member pod's own code in-process (runGanMemberItem, what member-main.ts runs with WORK_PREFIX) on the generator
// test harness's store (embedded S3, the generator service on port 0): members spread over the GPUs, a pod evicted
// after its first checkpoint is retried and resumes from it, and the ensemble the runner commits is the one the
// generator service samples from. The same request trained by the service's TrainEnsemble (the local executor)
// ends at the same checkpoints (every weight, optimiser moment and RNG state; only the recorded wall-clock seconds
// differ), for every family, and PGAN's ensembles give identical samples. One test runs member-main.ts itself as
// the manifest's pods (real processes).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { BatchV1Api, KubeConfig, type V1Job } from "@kubernetes/client-node";
import { GanFamily, JobState, type SampleResponse } from "@synthmri/contracts";
import {
  type GanMemberResult,
  StoreDatasetReader,
  latestCheckpoint,
  runGanMemberItem,
} from "@synthmri/generator";
import { decodeCheckpoint } from "@synthmri/ml";
import { receiveTensors, typedArrayOf } from "@synthmri/rpc";
import { Job } from "kubernetes-models/batch/v1/Job";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness, TINY, writeToyDataset } from "../../../services/generator/test/fixtures.js";
import { validateSpec } from "../../src/experiment/spec.js";
import { clusterSettings } from "../../src/kube/from-spec.js";
import { type ClusterSettings, DEFAULT_CLUSTER } from "../../src/kube/manifests.js";
import { kubeScaleOut } from "../../src/kube/scale-out.js";
import { type FakeKube, type RunPod, startFakeKube } from "./fake-kube-api.js";

// The smallest checkpoint quality pass (SWD + grid; a DDPM sample costs many denoising steps), the service's too,
// so the pods' checkpoints are those the service writes.
const QUALITY = { swdImages: 4, nhoodsPerImage: 4, dirsPerRepeat: 4, dirRepeats: 1, gridSamples: 1 };

let h: Harness;
let kube: FakeKube | undefined;

beforeAll(async () => {
  h = await startHarness(() => ({ quality: QUALITY }));
  await writeToyDataset(h.artifacts, "toy", { train: 16, test: 4, size: 16 });
}, 60_000);
afterEach(async () => {
  await kube?.close();
  kube = undefined;
});
afterAll(async () => {
  await h?.close();
});

const envOf = (job: V1Job, name: string) =>
  job.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === name)?.value ?? "";

/** A fake cluster whose pods train their member in this process; `evict` stops one pod at its first checkpoint. */
async function cluster(evict?: { index: number }) {
  const results = new Map<number, GanMemberResult>();
  const deps = { artifacts: h.artifacts, store: h.store, datasets: new StoreDatasetReader(h.artifacts), quality: QUALITY };
  return scaleOutOn({ ...DEFAULT_CLUSTER, namespace: "synthmri", gpus: 2 }, results, async (job, index, attempt) => {
    const stop = new AbortController();
    const r = await runGanMemberItem(deps, envOf(job, "WORK_PREFIX"), index, {
      signal: stop.signal,
      progress: (p) => {
        if (evict?.index === index && attempt === 0 && p.metrics?.checkpoint_kimg !== undefined)
          stop.abort(new Error("pod evicted"));
      },
    });
    results.set(index, r);
  });
}

async function scaleOutOn(settings: ClusterSettings, results: Map<number, GanMemberResult>, runPod: RunPod) {
  kube = await startFakeKube(runPod);
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: "fake", server: kube.url, skipTLSVerify: true }, { name: "runner" });
  const scaleOut = kubeScaleOut({
    api: kc.makeApiClient(BatchV1Api),
    store: h.store,
    datasets: { manifest: async () => ({}) } as never,
    cluster: settings,
    pollMs: 5,
  });
  return { scaleOut, kube, results };
}

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * A pod as the kubelet would start it: the container's command (node = this Node) in the app root, with the
 * container's env (secretKeyRef values from `secrets`) and JOB_COMPLETION_INDEX.
 */
function processPod(secrets: Record<string, Record<string, string>>): RunPod {
  return async (job, index) => {
    const container = job.spec?.template.spec?.containers[0];
    const env: Record<string, string> = { PATH: process.env.PATH ?? "", JOB_COMPLETION_INDEX: String(index) };
    for (const e of container?.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      env[e.name] = ref ? (secrets[ref.name]?.[ref.key] ?? "") : (e.value ?? "");
    }
    const [cmd, ...args] = container?.command ?? [];
    expect(cmd).toBe("node");
    const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    proc.stderr?.on("data", (d) => {
      stderr += String(d);
    });
    const code = await new Promise<number | null>((resolve) => proc.once("exit", resolve));
    if (code !== 0) throw new Error(`pod ${index} exited with ${code}: ${stderr.slice(-2000)}`);
  };
}

/** Trains the same request with the generator service's TrainEnsemble (the local executor). */
async function trainLocally(req: { members: number; baseSeed: number; family: GanFamily; config: object }) {
  const res = await h.generator.trainEnsemble({ datasetId: "toy", concurrency: req.members, ...req });
  const statuses = await h.watch(res.jobId);
  expect(statuses.at(-1)?.errorMessage).toBe("");
  expect(statuses.at(-1)?.state).toBe(JobState.SUCCEEDED);
  return res.ensembleId;
}

/** Each member's final checkpoint: weights, optimiser state and RNGs (not the wall-clock seconds it records). */
async function memberStates(ensembleId: string, members: number) {
  const out = [];
  for (let i = 0; i < members; i++) {
    const latest = await latestCheckpoint(h.store, h.artifacts, `${ensembleId}-m${i}`);
    expect(latest?.manifest.final, `member ${i} of ${ensembleId}`).toBe(true);
    const state = decodeCheckpoint(await h.artifacts.readFile("gan-checkpoint", latest?.id ?? "", "state.ckpt"));
    out.push({ ...state, trainer: { ...state.trainer, seconds: 0 } });
  }
  return out;
}

async function sample(ensembleId: string, count: number) {
  const msgs: SampleResponse[] = [];
  for await (const m of h.generator.sample({ source: { ensembleId }, count, seed: 7, batchSize: 2 })) msgs.push(m);
  const data: number[][] = [];
  for await (const t of receiveTensors(msgs, (m) => m.frame)) data.push(Array.from(typedArrayOf(t) as Uint8Array));
  return { data, members: msgs.flatMap((m) => m.provenance.map((p) => p.member)) };
}

// 8x8 PGAN: 4x4 for 32 images, 8x8 fades in over 32 and stabilises; a checkpoint every 32 images, 12 steps.
const PGAN = { ...TINY, resolution: 8, totalKimg: 0.096, checkpointEveryKimg: 0.032 };

describe("GAN ensemble on the Kubernetes executor", () => {
  it("trains a member per pod, resumes an evicted pod from its checkpoint, and the service samples the ensemble as if it had trained it", async () => {
    const c = await cluster({ index: 1 });
    const req = { members: 3, baseSeed: 30, family: GanFamily.PGAN, config: PGAN };
    const got = await c.scaleOut.trainGanEnsemble({ ...req, datasetId: "toy", name: "exp-ensemble", jobName: "exp1-ensemble" });
    expect(got.ensembleId).toBe("kube-gan-exp1-ensemble");

    const job = c.kube.jobs.get("synthmri/gan-exp1-ensemble");
    expect(job?.spec).toMatchObject({ completionMode: "Indexed", completions: 3, parallelism: 2 });
    const container = job?.spec?.template.spec?.containers[0];
    expect(container?.command).toEqual(["node", "--import", "tsx", "services/generator/src/member-main.ts"]);
    expect(container?.image).toBe("registry.hospital.local/synthmri/generator-cuda:0.1.0");
    expect(container?.resources?.limits).toEqual({ "nvidia.com/gpu": "1" });
    expect(() => new Job(job as ConstructorParameters<typeof Job>[0]).validate()).not.toThrow();
    expect(c.kube.maxRunning).toBe(2);
    // index 1 was evicted after its first checkpoint: one retry, which resumed from it
    expect([...c.kube.attempts.entries()].sort()).toEqual([
      [0, 1],
      [1, 2],
      [2, 1],
    ]);
    expect(c.results.get(1)?.resumedFromKimg).toBeCloseTo(0.032, 6);
    expect(c.results.get(0)?.resumedFromKimg).toBeNull();

    // The generator service sees a finished ensemble with the seeds TrainEnsemble gives (baseSeed + index).
    const view = (await h.generator.getEnsemble({ ensembleId: got.ensembleId })).ensemble;
    expect(view?.members.map((m) => [m.seed, m.state])).toEqual([
      [30, JobState.SUCCEEDED],
      [31, JobState.SUCCEEDED],
      [32, JobState.SUCCEEDED],
    ]);
    expect(view?.manifest?.key).toBeTruthy();
    expect(await h.artifacts.tryGetManifest("ensemble", got.ensembleId)).toMatchObject({ members: expect.any(Array) });

    // The local executor: the same request through TrainEnsemble ends at the same bytes, and samples the same.
    const local = await trainLocally(req);
    expect(await memberStates(got.ensembleId, 3)).toEqual(await memberStates(local, 3));
    const onCluster = await sample(got.ensembleId, 6);
    expect(onCluster.members).toEqual([0, 0, 1, 1, 2, 2]);
    expect(onCluster.data).toEqual((await sample(local, 6)).data);

    // A restarted runner follows the same Job and ensemble; nothing trains again.
    const again = await c.scaleOut.trainGanEnsemble({ ...req, datasetId: "toy", name: "exp-ensemble", jobName: "exp1-ensemble" });
    expect(again).toEqual(got);
    expect(c.kube.attempts.get(0)).toBe(1);
  }, 240_000);

  it("runs member-main.ts as the manifest's pods: the object store from the runner's settings and the cluster's secret", async () => {
    // CPU pods (gpus 0), the runner's S3 endpoint and bucket, the keys from the s3Secret; the cpu backend, as here.
    const settings = clusterSettings(
      { ...validateSpec({ name: "x" }).kubernetes, namespace: "synthmri", gpus: 0, cpuPods: 2, s3Secret: "synthmri-s3" },
      { endpoint: h.s3.endpoint, bucket: "synthmri" },
    );
    settings.env.push({ name: "TF_BACKEND", value: "cpu" }, { name: "LOG_LEVEL", value: "warn" });
    const secrets = { "synthmri-s3": { accessKey: h.s3.accessKey, secretKey: h.s3.secretKey } };
    const c = await scaleOutOn(settings, new Map(), processPod(secrets));
    const req = { members: 2, baseSeed: 50, family: GanFamily.PGAN, config: { ...PGAN, totalKimg: 0.032 } };
    const got = await c.scaleOut.trainGanEnsemble({ ...req, datasetId: "toy", name: "procs", jobName: "procs" });
    const job = c.kube.jobs.get("synthmri/gan-procs");
    expect(job?.spec?.template.spec?.containers[0]?.image).toBe("registry.hospital.local/synthmri/generator:0.1.0");
    expect(job?.spec?.parallelism).toBe(2);
    expect(await memberStates(got.ensembleId, 2)).toEqual(await memberStates(await trainLocally(req), 2));
  }, 240_000);

  it("refuses a request TrainEnsemble would refuse before any Job is created", async () => {
    const c = await cluster();
    await expect(
      c.scaleOut.trainGanEnsemble({ datasetId: "toy", members: 0, family: GanFamily.PGAN, config: PGAN, jobName: "bad" }),
    ).rejects.toThrow(/members 0 must be 1\.\./);
    await expect(
      c.scaleOut.trainGanEnsemble({ datasetId: "nope", members: 1, family: GanFamily.PGAN, config: PGAN, jobName: "bad" }),
    ).rejects.toThrow(/nope/);
    expect(c.kube.jobs.size).toBe(0);
  }, 60_000);

  // Two steps of 4 images at 16x16, the families' demo architectures at their smallest widths; one checkpoint (the
  // resume from a mid-run checkpoint is shown for PGAN above, and per family in the generator's families test).
  const FAMILY_CONFIG = { resolution: 16, latentDim: 8, fmapMax: 4, batchSize: 4, totalKimg: 0.008, checkpointEveryKimg: 0.008 };
  it.each([
    ["spade2stage", GanFamily.SPADE2STAGE],
    ["stylegan2", GanFamily.STYLEGAN2],
    ["ddpm", GanFamily.DDPM],
  ] as const)("trains a %s member on the cluster to the local executor's checkpoint, which the service samples", async (name, family) => {
    const c = await cluster();
    const req = { members: 1, baseSeed: 11, family, config: FAMILY_CONFIG };
    const got = await c.scaleOut.trainGanEnsemble({ ...req, datasetId: "toy", jobName: `fam-${name}` });
    const view = (await h.generator.getEnsemble({ ensembleId: got.ensembleId })).ensemble;
    expect(view?.family).toBe(family);
    expect(view?.members.map((m) => [m.seed, m.state])).toEqual([[11, JobState.SUCCEEDED]]);
    const local = await trainLocally(req);
    expect(await memberStates(got.ensembleId, 1)).toEqual(await memberStates(local, 1));
    // Same weights, so the same samples (shown for PGAN above): here only that the service samples it.
    const onCluster = await sample(got.ensembleId, 1);
    expect(onCluster.members).toEqual([0]);
    for (let p = 4; p < (onCluster.data[0]?.length ?? 0); p += 5) expect([0, 51, 102, 204]).toContain(onCluster.data[0]?.[p]);
  }, 240_000);
});

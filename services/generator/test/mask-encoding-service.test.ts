// A PGAN trained with mask_encoding ONEHOT through the gRPC surface (issue 16): the checkpoints (SWD + grid on the
// one-hot layout) record the encoding, and Sample streams the product's 5-channel slices with level masks.
import { GanFamily, JobState, MaskEncoding, type SampleResponse } from "@synthmri/contracts";
import { decodeCheckpoint, type GanState } from "@synthmri/ml";
import { receiveTensors, typedArrayOf } from "@synthmri/rpc";
import { afterAll, beforeAll, expect, it } from "vitest";
import { latestCheckpoint, STATE_FILE } from "../src/domain/checkpoints.js";
import { type Harness, startHarness, TINY, writeToyDataset } from "./fixtures.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await writeToyDataset(h.artifacts, "toy", { train: 16, test: 4, size: 16 });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

it("trains a one-hot PGAN as a job and samples 5-channel slices whose masks are label levels", async () => {
  // 4x4 fading up to 16x16 in phases of 8 images: 40 images, 5 steps, checkpoints (with quality) every 16.
  const config = {
    ...TINY,
    kimgPerPhase: 0.008,
    totalKimg: 0.04,
    checkpointEveryKimg: 0.016,
    maskEncoding: MaskEncoding.ONEHOT,
  };
  const res = await h.generator.trainGan({ datasetId: "toy", family: GanFamily.PGAN, seed: 5, config, name: "1h" });
  const statuses = await h.watch(res.jobId);
  const last = statuses[statuses.length - 1];
  expect(last.errorMessage).toBe("");
  expect(last.state).toBe(JobState.SUCCEEDED);
  const latest = await latestCheckpoint(h.store, h.artifacts, res.ganId);
  if (!latest) throw new Error("the one-hot PGAN left no checkpoint");
  expect(latest.manifest).toMatchObject({ resolution: 16, final: true });
  expect((latest.manifest as { swd?: number }).swd).toBeGreaterThan(0);
  const bytes = await h.artifacts.readFile("gan-checkpoint", latest.manifest.id, STATE_FILE);
  expect((decodeCheckpoint(new Uint8Array(bytes)).model as GanState).config.maskEncoding).toBe("onehot");

  const msgs: SampleResponse[] = [];
  for await (const m of h.generator.sample({ source: { ensembleId: res.ganId }, count: 3, seed: 4, batchSize: 3 }))
    msgs.push(m);
  const tensors = [];
  for await (const t of receiveTensors(msgs, (m) => m.frame)) tensors.push(t);
  expect(tensors.map((t) => t.shape)).toEqual([[3, 16, 16, 5]]);
  const b = typedArrayOf(tensors[0]) as Uint8Array;
  for (let p = 4; p < b.length; p += 5) expect([0, 51, 102, 204]).toContain(b[p]);
}, 120_000);

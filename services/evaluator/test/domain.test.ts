// Domain pieces without gRPC: slice -> volume assembly (gaps, spacing), mask decoding, and a job resumed after a
// restart writing the evaluation it promised.
import { ArtifactStore, JobRunner, MemoryObjectStore } from "@synthmri/platform";
import { describe, expect, it } from "vitest";
import type { EvaluateParams } from "../src/domain/evaluate.js";
import { readEvaluation } from "../src/domain/evaluation-store.js";
import type {
  LabelBatch,
  Segmenter,
  SliceBatch,
  SliceSource,
  SplitName,
  SubjectDescription,
} from "../src/domain/ports.js";
import { maskToLabels } from "@synthmri/core";
import { SubjectAssembler, sliceSpacing } from "../src/domain/volumes.js";
import { resumeHandlers } from "../src/handlers/job-work.js";
import { realDataset, SIDE } from "./fakes.js";

const subject = (key: string, sliceCount: number): SubjectDescription => ({
  key,
  split: "test",
  shape: [240, 240, 155],
  spacing: [1, 1.2, 3],
  sliceCount,
});

describe("SubjectAssembler", () => {
  it("places slices at their axial index, counts gaps, and finishes a subject when its last slice arrives", () => {
    const a = new SubjectAssembler([subject("a", 3), subject("b", 1)]);
    const one = (v: number) => new Uint8Array(4).fill(v);
    expect(a.add("a", 12, one(1), one(1), 2, 2)).toBeNull();
    expect(a.add("a", 10, one(2), one(2), 2, 2)).toBeNull();
    const done = a.add("a", 13, one(3), one(3), 2, 2)!;
    expect(done.pred.shape).toEqual([4, 2, 2]);
    expect([...done.pred.data]).toEqual([2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 3, 3, 3, 3]);
    expect(done.gapSlices).toBe(1);
    expect(a.missing()).toEqual(["b"]);
    expect(() => a.add("a", 14, one(0), one(0), 2, 2)).toThrow(/after all its slices/);
    expect(() => a.add("zzz", 1, one(0), one(0), 2, 2)).toThrow(/does not list/);
  });

  it("rejects a slice that arrives twice", () => {
    const a = new SubjectAssembler([subject("a", 5)]);
    a.add("a", 1, new Uint8Array(1), new Uint8Array(1), 1, 1);
    expect(() => a.add("a", 1, new Uint8Array(1), new Uint8Array(1), 1, 1)).toThrow(/arrived twice/);
  });

  it("scales in-plane spacing when slices were resized after padding (240 -> 256 -> 128 or 512)", () => {
    expect(sliceSpacing(subject("a", 1), 256, 256)).toEqual([3, 1.2, 1]);
    expect(sliceSpacing(subject("a", 1), 128, 128)).toEqual([3, 2.4, 2]);
    expect(sliceSpacing(subject("a", 1), 512, 512)).toEqual([3, 0.6, 0.5]);
  });

  it("decodes the seed-000 mask encoding and rejects other values", () => {
    expect([...maskToLabels(Uint8Array.from([0, 51, 102, 204]), "x")]).toEqual([0, 1, 2, 3]);
    expect(() => maskToLabels(Uint8Array.from([0, 50]), "batch 0")).toThrow(/mask value 50/);
  });
});

/** In-memory dataset + "truth" segmenter over the test fixture (one slice per batch, both in the same order). */
function memoryPorts(): { source: SliceSource; segmenter: Segmenter } {
  const ds = realDataset("real-1");
  const slicesOf = (split: SplitName) => {
    const keys = new Set(ds.subjects.filter((s) => (s.split === 2 ? "test" : "train") === split).map((s) => s.key));
    return ds.slices.filter((x) => keys.has(x.subject));
  };
  const source: SliceSource = {
    async describe() {
      return {
        id: ds.id,
        origin: "real",
        sliceShape: [SIDE, SIDE, 5],
        trainSlices: 4,
        testSlices: 8,
        subjects: ds.subjects.map((s) => ({
          key: s.key,
          split: s.split === 2 ? "test" : "train",
          shape: [SIDE, SIDE, 155],
          spacing: s.spacing,
          sliceCount: s.indices.length,
        })),
      };
    },
    async *streamSlices(_id, o): AsyncIterable<SliceBatch> {
      const maskOnly = o.channels?.length === 1 && o.channels[0] === "mask";
      for (const s of slicesOf(o.split)) {
        const data = maskOnly ? s.data.filter((_, i) => i % 5 === 4) : s.data;
        const c = maskOnly ? 1 : 5;
        yield { data, n: 1, h: SIDE, w: SIDE, c, subjectKeys: [s.subject], sliceIndices: [s.index] };
      }
    },
  };
  const segmenter: Segmenter = {
    async prepare(_m, v) {
      return { version: v || 1 };
    },
    async *segmentDataset(_id, o): AsyncIterable<LabelBatch> {
      let index = 0;
      for (const s of slicesOf(o.split)) {
        const labels = new Uint8Array(SIDE * SIDE);
        for (let p = 0; p < labels.length; p++) labels[p] = s.data[p * 5 + 3] === 102 ? 2 : 0;
        yield { index: index++, labels, n: 1, h: SIDE, w: SIDE, subjectKeys: [s.subject], sliceIndices: [s.index] };
      }
    },
  };
  return { source, segmenter };
}

describe("restart", () => {
  it("resumes an interrupted evaluate job and writes the evaluation id the caller was given", async () => {
    const store = new MemoryObjectStore();
    await store.ensureBucket();
    const artifacts = new ArtifactStore({ store });
    const params: EvaluateParams = {
      evaluationId: "20260101-000000-0000abcd",
      modelId: "truth",
      modelVersion: 0,
      datasetId: "real-1",
      split: "test",
      emptyPolicy: "both-empty-1",
      condition: "real",
      tta: false,
      hdPercentile: 95,
    };
    const first = new JobRunner({ store, service: "evaluator" });
    let started!: () => void;
    const running = new Promise<void>((r) => {
      started = r;
    });
    const id = first.start("evaluate", params, async (ctx) => {
      started();
      await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
    });
    await running;
    await first.shutdown({ graceMs: 1000 });

    const second = new JobRunner({ store, service: "evaluator" });
    const deps = { artifacts, jobs: second, ...memoryPorts() };
    const { resumed } = await second.recover(resumeHandlers(deps));
    expect(resumed).toEqual([id]);
    const status = await second.wait(id);
    expect(status.state).toBe("SUCCEEDED");
    expect(status.attempt).toBe(2);
    const ev = await readEvaluation(artifacts, params.evaluationId);
    expect(ev.info.subjects).toBe(2);
    expect(ev.info.summary.ED?.dice.mean).toBe(1);
    await second.shutdown({ graceMs: 100 });
  });
});

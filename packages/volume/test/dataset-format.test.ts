import { describe, expect, it } from "vitest";
import {
  asDatasetManifest,
  countSelected,
  DATASET_FORMAT,
  DATASET_FORMAT_VERSION,
  type DatasetFields,
  DatasetShardWriter,
  readDatasetSlices,
  type SliceBatch,
} from "../src/index.js";

function batch(subject: string, n: number, size = 8): SliceBatch {
  const data = new Uint8Array(n * size * size * 5);
  for (let i = 0; i < n; i++) data.fill(i + 1, i * size * size * 5, (i + 1) * size * size * 5);
  // mask channel: 204 in every pixel of every slice
  for (let p = 4; p < data.length; p += 5) data[p] = 204;
  return {
    height: size,
    width: size,
    channels: 5,
    count: n,
    data,
    sliceIndex: [...Array(n).keys()],
    subject: Array(n).fill(subject),
  };
}

async function build(shardSlices: number) {
  const files = new Map<string, Uint8Array>();
  const w = new DatasetShardWriter({ putFile: async (p, b) => void files.set(p, b) }, { shardSlices });
  await w.add("train", batch("a", 5));
  await w.add("test", batch("b", 3));
  await w.add("train", batch("c", 4));
  const done = await w.finish();
  const fields: DatasetFields = {
    format: DATASET_FORMAT,
    formatVersion: DATASET_FORMAT_VERSION,
    name: "t",
    origin: "real",
    sourceLayout: "brats2020",
    labelScheme: "brats2020",
    sliceShape: done.sliceShape!,
    channels: ["t1", "t1ce", "t2", "flair", "mask"],
    maskValues: { NCR: 51, ED: 102, ET: 204 },
    preprocessing: null,
    split: { seed: "0", testFraction: 0.3, train: ["a", "c"], test: ["b"] },
    subjects: [],
    shards: done.shards,
    sliceCounts: done.sliceCounts,
    labels: {},
  };
  return { files, fields: asDatasetManifest({ id: "x", ...fields }), read: async (p: string) => files.get(p)! };
}

async function collect(it: AsyncIterable<SliceBatch>) {
  const out: SliceBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe("dataset shards", () => {
  it("packs slices into shards per split and reads them back in order", async () => {
    const { files, fields, read } = await build(4);
    expect([...files.keys()].sort()).toEqual([
      "slices/test-00000.smsl",
      "slices/train-00000.smsl",
      "slices/train-00001.smsl",
      "slices/train-00002.smsl",
    ]);
    expect(fields.sliceCounts).toEqual({ train: 9, test: 3 });
    expect(fields.shards.filter((s) => s.split === "train").map((s) => s.count)).toEqual([4, 4, 1]);
    const got = await collect(readDatasetSlices(fields, read, { split: "train", batchSize: 4 }));
    expect(got.map((b) => b.count)).toEqual([4, 4, 1]);
    expect(got.flatMap((b) => b.subject)).toEqual(["a", "a", "a", "a", "a", "c", "c", "c", "c"]);
    expect(got.flatMap((b) => b.sliceIndex)).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3]);
    expect(countSelected(fields, { split: "train" })).toBe(9);
  });

  it("shuffles reproducibly by seed, filters subjects, selects channels and resizes", async () => {
    const { fields, read } = await build(4);
    const ids = async (seed: number) =>
      (await collect(readDatasetSlices(fields, read, { split: "train", shuffle: true, seed, batchSize: 3 }))).flatMap(
        (b) => b.subject.map((s, i) => `${s}${b.sliceIndex[i]}`),
      );
    const a = await ids(1);
    expect(await ids(1)).toEqual(a);
    expect([...a].sort()).toEqual(["a0", "a1", "a2", "a3", "a4", "c0", "c1", "c2", "c3"]);
    expect(await ids(2)).not.toEqual(a);
    const only = await collect(
      readDatasetSlices(fields, read, { split: "train", subjectKeys: ["c"], channels: ["mask", "t1"], resize: 4 }),
    );
    expect(only[0].subject).toEqual(["c", "c", "c", "c"]);
    expect([only[0].height, only[0].width, only[0].channels]).toEqual([4, 4, 2]);
    expect(only[0].data[0]).toBe(204);
    expect(only[0].data[1]).toBe(1);
    const capped = await collect(readDatasetSlices(fields, read, { split: "train", maxSlices: 5, batchSize: 2 }));
    expect(capped.map((b) => b.count)).toEqual([2, 2, 1]);
  });

  it("rejects manifests of another format and unknown channels", async () => {
    expect(() => asDatasetManifest({ id: "y" })).toThrow(/not a synthmri-dataset manifest/);
    const { fields, read } = await build(4);
    await expect(
      collect(readDatasetSlices(fields, read, { split: "train", channels: ["t1", "nope" as "t1"] })),
    ).rejects.toThrow(/channel nope is not stored/);
  });
});

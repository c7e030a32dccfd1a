// A phantom cohort ingested end to end over gRPC into the embedded store, then read back every way.
import { join } from "node:path";
import { DataType, JobState, LabelScheme, Layout, Modality, OnError, Split } from "@synthmri/contracts";
import { MinioObjectStore } from "@synthmri/platform";
import { type ReceivedTensor, receiveTensors, typedArrayOf } from "@synthmri/rpc";
import { generatePhantomSubject, readNifti, sliceSubject, toInternalLabels } from "@synthmri/volume";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, keys, type Rig, startRig, writePhantomCohort } from "./helpers.js";

const SIZE: [number, number, number] = [48, 48, 32];
let rig: Rig;
let cohort: string;
let ids: string[];
let datasetId: string;

beforeAll(async () => {
  rig = await startRig("import");
  cohort = join(rig.dir, "cohort");
  ids = writePhantomCohort(cohort, 6, SIZE);
});
afterAll(async () => {
  await rig?.close();
});

async function slices(req: Parameters<Rig["client"]["streamSlices"]>[0]) {
  const infos: { subjectKeys: string[]; sliceIndices: number[]; split: Split }[] = [];
  const tensors: ReceivedTensor[] = [];
  const tap = async function* () {
    for await (const r of rig.client.streamSlices(req)) {
      if (r.batch)
        infos.push({ subjectKeys: r.batch.subjectKeys, sliceIndices: r.batch.sliceIndices, split: r.batch.split });
      yield r;
    }
  };
  for await (const t of receiveTensors(tap(), (r) => r.frame)) tensors.push(t);
  return { infos, tensors };
}

describe("ingest service: phantom cohort end to end", () => {
  it("imports the cohort as a job with streamed progress and a report", async () => {
    const msgs = await collect(
      rig.client.importDirectory({
        source: { case: "localPath", value: cohort },
        name: "phantom-6",
        split: { seed: 0, testCount: 2 },
        onError: OnError.FAIL,
        labels: { purpose: "test" },
      }),
    );
    const last = msgs[msgs.length - 1];
    expect(last.job?.state).toBe(JobState.SUCCEEDED);
    expect(msgs.some((m) => m.job?.state === JobState.RUNNING && (m.job.progress?.done ?? 0) > 0)).toBe(true);
    const report = last.report!;
    expect(report.subjectsImported).toBe(6);
    expect(report.skipped).toEqual([]);
    expect(report.trainSlices).toBeGreaterThan(0);
    expect(report.testSlices).toBeGreaterThan(0);
    expect(Number(report.bytesRead)).toBeGreaterThan(0);
    datasetId = report.datasetId;
    // The job is also visible through the JobService.
    const watched = await collect(rig.jobs.watchJob({ jobId: last.job!.id }));
    expect(watched[watched.length - 1].job?.state).toBe(JobState.SUCCEEDED);
    const final = watched[watched.length - 1].job;
    expect(final?.outputs.datasetId).toBe(datasetId);
    // The output by role, as every service names it, the dataset manifest, and the progress in subjects.
    expect(final?.outputs.dataset_id).toBe(datasetId);
    expect(final?.artifacts.map((a) => a.key)).toEqual([`dataset/${datasetId}/manifest.json`]);
    expect(final?.progress).toMatchObject({ done: 6, total: 6, unit: "subjects" });
    expect(final?.errorCode).toBe("");
  });

  it("writes a de-identified manifest last, with a subject-level split and seed-000 slices", async () => {
    const objects = await keys(rig.store, `dataset/${datasetId}/`);
    expect(objects).toContain(`dataset/${datasetId}/manifest.json`);
    const text = (await rig.store.getBuffer(`dataset/${datasetId}/manifest.json`)).toString("utf8");
    for (const id of ids) expect(text).not.toContain(id);
    const m = JSON.parse(text);
    expect(m.kind).toBe("dataset");
    expect(m.origin).toBe("real");
    expect(m.sourceLayout).toBe("brats2020");
    expect(m.labelScheme).toBe("brats2020");
    expect(m.sliceShape).toEqual([64, 64, 5]);
    expect(m.subjects).toHaveLength(6);
    expect(m.split.test).toHaveLength(2);
    expect(m.split.train).toHaveLength(4);
    expect(m.split.train.filter((k: string) => m.split.test.includes(k))).toEqual([]);
    // Every stored file has a checksum; every shard holds subjects of its own split only.
    for (const key of objects.filter((k) => !k.endsWith("manifest.json"))) {
      expect(m.checksums[key.slice(`dataset/${datasetId}/`.length)]).toBeDefined();
    }
    for (const shard of m.shards) {
      for (const k of shard.subjects) expect(m.split[shard.split]).toContain(k);
    }
    expect(m.preprocessing).toMatchObject({
      intensityThreshold: 50,
      minFraction: 0.15,
      labelValues: [51, 102, 204],
      size: 64,
    });
    // Slice counts follow the seed-000 rule applied to the same volumes (the phantom is already LPS).
    const byKey = new Map(m.subjects.map((s: { key: string }) => [s.key, s]));
    const got = [...byKey.values()].map((s) => (s as { sliceCount: number }).sliceCount).sort();
    const expected = ids
      .map((_, i) => {
        const p = generatePhantomSubject(i, { size: SIZE, seed: "7" });
        const seg = toInternalLabels(p.seg, "brats2020", { subject: "x" });
        return sliceSubject("x", { ...p, seg }).kept;
      })
      .sort();
    expect(got).toEqual(expected);
    expect(m.sliceCounts.train + m.sliceCounts.test).toBe(expected.reduce((a, b) => a + b, 0));
  });

  it("serves the dataset through GetDataset and ListDatasets", async () => {
    const { dataset } = await rig.client.getDataset({ datasetId, includeSubjects: true });
    expect(dataset?.name).toBe("phantom-6");
    expect(dataset?.layout).toBe(Layout.BRATS2020);
    expect(dataset?.subjects).toHaveLength(6);
    expect(dataset?.sliceShape).toEqual([64, 64, 5]);
    expect(dataset?.labels).toEqual({ purpose: "test" });
    const list = await rig.client.listDatasets({});
    expect(list.datasets.map((d) => d.id)).toContain(datasetId);
    expect(list.datasets[0].subjects).toEqual([]);
  });

  it("streams a split's slices with subject keys and indices; the seed makes the shuffle reproducible", async () => {
    const m = JSON.parse((await rig.store.getBuffer(`dataset/${datasetId}/manifest.json`)).toString("utf8"));
    const train = await slices({ datasetId, split: Split.TRAIN, batchSize: 16 });
    const n = train.tensors.reduce((s, t) => s + t.shape[0], 0);
    expect(n).toBe(m.sliceCounts.train);
    expect(train.tensors[0].dtype).toBe(DataType.UINT8);
    expect(train.tensors[0].shape.slice(1)).toEqual([64, 64, 5]);
    const keysSeen = new Set(train.infos.flatMap((i) => i.subjectKeys));
    for (const k of keysSeen) expect(m.split.train).toContain(k);
    const mask = typedArrayOf(train.tensors[0]) as Uint8Array;
    const maskValues = new Set<number>();
    for (let i = 4; i < mask.length; i += 5) maskValues.add(mask[i]);
    for (const v of maskValues) expect([0, 51, 102, 204]).toContain(v);

    const order = async (seed: number) =>
      (await slices({ datasetId, split: Split.TRAIN, shuffle: true, seed, batchSize: 7 })).infos.flatMap((i) =>
        i.subjectKeys.map((k, j) => `${k}:${i.sliceIndices[j]}`),
      );
    const a = await order(3);
    expect(await order(3)).toEqual(a);
    expect(await order(4)).not.toEqual(a);
    expect([...a].sort()).toEqual(
      train.infos.flatMap((i) => i.subjectKeys.map((k, j) => `${k}:${i.sliceIndices[j]}`)).sort(),
    );

    const test = await slices({
      datasetId,
      split: Split.TEST,
      resize: 32,
      dtype: DataType.FLOAT32,
      channels: [Modality.FLAIR, Modality.SEG],
      maxSlices: 5,
    });
    expect(test.tensors[0].shape).toEqual([5, 32, 32, 2]);
    expect(test.tensors[0].dtype).toBe(DataType.FLOAT32);
    expect(test.infos[0].split).toBe(Split.TEST);
    for (const k of test.infos[0].subjectKeys) expect(m.split.test).toContain(k);
  });

  it("exports a subject's volumes with their geometry and the seg in either label scheme", async () => {
    const { dataset } = await rig.client.getDataset({ datasetId, includeSubjects: true });
    const key = dataset!.subjects[0].key;
    const files = new Map<string, Buffer[]>();
    let current = "";
    for await (const r of rig.client.exportSubject({
      datasetId,
      subjectKey: key,
      modalities: [Modality.T1, Modality.SEG],
      labelScheme: LabelScheme.BRATS2023,
    })) {
      const f = r.file!.frame;
      if (f.case === "header") {
        current = f.value.name;
        files.set(current, []);
      } else if (f.case === "chunk") files.get(current)!.push(Buffer.from(f.value.data));
    }
    expect([...files.keys()]).toEqual([`${key}_t1.nii.gz`, `${key}_seg.nii.gz`]);
    const t1 = readNifti(new Uint8Array(Buffer.concat(files.get(`${key}_t1.nii.gz`)!)));
    const seg = readNifti(new Uint8Array(Buffer.concat(files.get(`${key}_seg.nii.gz`)!)));
    // Which phantom subject is it? The one whose t1 voxels match.
    const src = ids
      .map((_, i) => generatePhantomSubject(i, { size: SIZE, seed: "7" }))
      .find((p) => {
        const d = t1.data as Int16Array;
        return p.t1.every((v, i) => v === d[i]);
      });
    expect(src).toBeDefined();
    expect(t1.shape).toEqual(SIZE);
    expect(t1.affine.flat().map((v) => Math.round(v * 1000) / 1000)).toEqual(src!.affine.flat());
    expect(t1.header.descrip).toBe("");
    const segData = seg.scaled();
    for (let i = 0; i < segData.length; i++) {
      const want = src!.seg[i] === 4 ? 3 : src!.seg[i];
      if (segData[i] !== want) throw new Error(`seg voxel ${i}: ${segData[i]} != ${want}`);
    }
  });

  it("imports uploaded subjects as a dataset, and deletes datasets", async () => {
    let session = "";
    for (const i of [0, 1]) {
      const p = generatePhantomSubject(i, { size: [32, 32, 16], seed: "9" });
      const { phantomSubjectFiles } = await import("@synthmri/volume");
      const files = phantomSubjectFiles(p);
      const modality = {
        t1: Modality.T1,
        t1ce: Modality.T1CE,
        t2: Modality.T2,
        flair: Modality.FLAIR,
        seg: Modality.SEG,
      };
      const reqs: Parameters<Rig["client"]["uploadSubject"]>[0] extends AsyncIterable<infer R> | Iterable<infer R>
        ? R[]
        : never = [
        {
          part: {
            case: "metadata",
            value: { uploadSessionId: session, subjectId: p.id, labelScheme: LabelScheme.BRATS2020 },
          },
        },
      ];
      for (const [name, bytes] of Object.entries(files)) {
        const role = name.replace(/^.*_(t1|t1ce|t2|flair|seg)\.nii\.gz$/, "$1") as keyof typeof modality;
        reqs.push({
          part: {
            case: "file",
            value: { frame: { case: "header", value: { name, modality: modality[role], size: BigInt(bytes.length) } } },
          },
        });
        reqs.push({ part: { case: "file", value: { frame: { case: "chunk", value: { offset: 0n, data: bytes } } } } });
      }
      const res = await rig.client.uploadSubject(reqs);
      session = res.uploadSessionId;
      expect(res.subjectKey).toMatch(/^sub-[0-9a-f]{16}$/);
      expect(res.sessionSubjects).toBe(i + 1);
    }
    const msgs = await collect(
      rig.client.importDirectory({ source: { case: "uploadSessionId", value: session }, split: { testCount: 1 } }),
    );
    const report = msgs[msgs.length - 1].report!;
    expect(report.subjectsImported).toBe(2);
    const { dataset } = await rig.client.getDataset({ datasetId: report.datasetId });
    expect(dataset?.layout).toBe(Layout.UPLOAD);
    expect(dataset?.sliceShape).toEqual([32, 32, 5]);

    const del = await rig.client.deleteDataset({ datasetId: report.datasetId });
    expect(del.objectsDeleted).toBeGreaterThan(10);
    await expect(rig.client.getDataset({ datasetId: report.datasetId })).rejects.toMatchObject({ code: 5 });
    expect(await keys(rig.store, `dataset/${report.datasetId}/`)).toEqual([]);
  });

  it("CancelJob stops an import and leaves nothing behind", async () => {
    const before = (await rig.client.listDatasets({})).datasets.length;
    const stream = rig.client.importDirectory({
      source: { case: "localPath", value: cohort },
      split: { testCount: 1 },
    });
    let jobId = "";
    const seen: JobState[] = [];
    const err = await (async () => {
      for await (const m of stream) {
        seen.push(m.job!.state);
        if (!jobId && m.job?.state === JobState.RUNNING && (m.job.progress?.done ?? 0) >= 1) {
          jobId = m.job.id;
          await rig.jobs.cancelJob({ jobId, reason: "test" });
        }
      }
    })().then(
      () => undefined,
      (e) => e,
    );
    expect(err?.code).toBe(1);
    const job = await rig.jobs.getJob({ jobId });
    expect(job.job?.state).toBe(JobState.CANCELLED);
    expect((await rig.client.listDatasets({})).datasets.length).toBe(before);
    const all = await keys(rig.store, "dataset/");
    const known = new Set((await rig.client.listDatasets({})).datasets.map((d) => d.id));
    expect(all.filter((k) => !known.has(k.split("/")[1]))).toEqual([]);
  });

  it("imports from an S3 prefix of another bucket", async () => {
    const other = new MinioObjectStore({ ...rig.s3, bucket: "hospital" });
    await other.ensureBucket();
    const { readdirSync, readFileSync } = await import("node:fs");
    for (const id of ids.slice(0, 2)) {
      for (const f of readdirSync(join(cohort, id)))
        await other.putObject(`brats/${id}/${f}`, readFileSync(join(cohort, id, f)));
    }
    const msgs = await collect(
      rig.client.importDirectory({
        source: { case: "s3Prefix", value: { bucket: "hospital", prefix: "brats/" } },
        split: { testCount: 1 },
      }),
    );
    expect(msgs[msgs.length - 1].report?.subjectsImported).toBe(2);
  });
});

// Bad input: each broken subject gets INVALID_ARGUMENT (upload, import with on_error=fail) or a skip
// entry with a reason (on_error=skip); nothing partial stays in storage; the server stays up.
import { mkdirSync, writeFileSync } from "node:fs";
import { Writable } from "node:stream";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { JobState, LabelScheme, Modality, OnError, Split, type UploadSubjectRequestSchema } from "@synthmri/contracts";
import { createLogger } from "@synthmri/platform";
import { generatePhantomSubject, phantomSubjectFiles, writeNifti } from "@synthmri/volume";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, keys, type Rig, startRig } from "./helpers.js";

const SIZE: [number, number, number] = [24, 24, 12];
const ROLES = ["t1", "t1ce", "t2", "flair", "seg"] as const;
type Role = (typeof ROLES)[number];
const MODALITY: Record<Role, Modality> = {
  t1: Modality.T1,
  t1ce: Modality.T1CE,
  t2: Modality.T2,
  flair: Modality.FLAIR,
  seg: Modality.SEG,
};

let rig: Rig;

function goodFiles(i: number): Record<Role, Uint8Array> {
  const p = generatePhantomSubject(i, { size: SIZE, seed: "3" });
  const f = phantomSubjectFiles(p);
  return Object.fromEntries(ROLES.map((r) => [r, f[`${p.id}_${r}.nii.gz`]])) as Record<Role, Uint8Array>;
}

/** Edit the uncompressed header of a .nii.gz. */
function patch(gz: Uint8Array, edit: (dv: DataView, raw: Buffer) => void): Uint8Array {
  const raw = gunzipSync(gz);
  edit(new DataView(raw.buffer, raw.byteOffset, raw.length), raw);
  return new Uint8Array(gzipSync(raw, { level: 1 }));
}

const nanVolume = () => {
  const p = generatePhantomSubject(0, { size: SIZE, seed: "3" });
  const data = Float32Array.from(p.t2);
  data[100] = Number.NaN;
  return writeNifti({ shape: SIZE, data, affine: p.affine });
};

/** name -> files of the subject (a missing role = file left out) and the reason expected. */
const CASES: Record<string, { files: () => Partial<Record<Role, Uint8Array>>; reason: RegExp }> = {
  truncated: {
    files: () => {
      const f = goodFiles(0);
      return { ...f, t1: f.t1.subarray(0, Math.floor(f.t1.length / 2)) };
    },
    reason: /corrupt or truncated/,
  },
  badmagic: {
    files: () => ({ ...goodFiles(0), t1ce: patch(goodFiles(0).t1ce, (_, raw) => raw.write("xyz\0", 344, "latin1")) }),
    reason: /NIfTI|magic/i,
  },
  voxoffset: {
    files: () => ({ ...goodFiles(0), t2: patch(goodFiles(0).t2, (dv) => dv.setFloat32(108, 1e7, true)) }),
    reason: /offset|past|beyond|end/i,
  },
  overflow: {
    files: () => ({
      ...goodFiles(0),
      flair: patch(goodFiles(0).flair, (dv) => {
        for (let i = 1; i <= 3; i++) dv.setInt16(40 + 2 * i, 32767, true);
      }),
    }),
    reason: /voxel|dimension|too large|limit|overflow|bytes/i,
  },
  zerodim: {
    files: () => ({ ...goodFiles(0), t1: patch(goodFiles(0).t1, (dv) => dv.setInt16(44, 0, true)) }),
    reason: /dim/i,
  },
  negdim: {
    files: () => ({ ...goodFiles(0), t1: patch(goodFiles(0).t1, (dv) => dv.setInt16(46, -4, true)) }),
    reason: /dim/i,
  },
  nan: { files: () => ({ ...goodFiles(0), t2: nanVolume() }), reason: /NaN/ },
  gzipbomb: {
    files: () => {
      // A valid small header, followed by 16 MiB of zeros: far beyond what the header declares.
      const raw = gunzipSync(goodFiles(0).t1);
      const bomb = Buffer.concat([raw, Buffer.alloc(16 << 20)]);
      return { ...goodFiles(0), t1: new Uint8Array(gzipSync(bomb, { level: 9 })) };
    },
    reason: /gzip bomb|decompresses to more/,
  },
  shapes: {
    files: () => {
      const other = generatePhantomSubject(0, { size: [24, 24, 10], seed: "3" });
      return { ...goodFiles(0), flair: phantomSubjectFiles(other)[`${other.id}_flair.nii.gz`] };
    },
    reason: /shape .* differs/,
  },
  noseg: {
    files: () => {
      const { seg: _, ...rest } = goodFiles(0);
      return rest;
    },
    reason: /missing segmentation/,
  },
  labels: {
    files: () => {
      const p = generatePhantomSubject(0, { size: SIZE, seed: "3" });
      const seg = Uint8Array.from(p.seg);
      seg[5] = 3;
      return { ...goodFiles(0), seg: writeNifti({ shape: SIZE, data: seg, affine: p.affine }) };
    },
    reason: /seg label 3 is not in scheme brats2020/,
  },
  notnifti: {
    files: () => ({ ...goodFiles(0), t1: new TextEncoder().encode("subject,t1\nthis is a CSV, not an image\n") }),
    reason: /NIfTI/i,
  },
};

const logLines: string[] = [];

beforeAll(async () => {
  const stream = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  rig = await startRig("bad", { logger: createLogger({ name: "ingest", level: "debug", stream }) });
});
afterAll(async () => {
  await rig?.close();
});

function uploadRequests(subjectId: string, files: Partial<Record<Role, Uint8Array>>) {
  const reqs: MessageInitShape<typeof UploadSubjectRequestSchema>[] = [
    { part: { case: "metadata", value: { subjectId, labelScheme: LabelScheme.BRATS2020 } } },
  ];
  for (const r of ROLES) {
    const bytes = files[r];
    if (!bytes) continue;
    reqs.push({
      part: {
        case: "file",
        value: { frame: { case: "header", value: { name: `${r}.nii.gz`, modality: MODALITY[r] } } },
      },
    });
    reqs.push({ part: { case: "file", value: { frame: { case: "chunk", value: { offset: 0n, data: bytes } } } } });
  }
  return reqs;
}

describe("ingest service: bad input", () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`UploadSubject rejects ${name} with INVALID_ARGUMENT and stores nothing`, async () => {
      const err = await rig.client.uploadSubject(uploadRequests(`case-${name}`, c.files())).then(
        () => undefined,
        (e) => e,
      );
      expect(err, `${name} was accepted`).toBeDefined();
      expect(err.code).toBe(3);
      expect(err.details).toMatch(c.reason);
      expect(await keys(rig.store, "uploads/")).toEqual([]);
    });
  }

  it("ImportDirectory: on_error=fail ends INVALID_ARGUMENT with nothing visible; skip lists every bad subject", async () => {
    const root = join(rig.dir, "bad-cohort");
    const names = ["BraTS20_Training_000", ...Object.keys(CASES).map((n) => `BraTS20_Training_${n}`)];
    const good = goodFiles(1);
    const write = (id: string, files: Partial<Record<Role, Uint8Array>>) => {
      mkdirSync(join(root, id), { recursive: true });
      for (const [r, b] of Object.entries(files)) writeFileSync(join(root, id, `${id}_${r}.nii.gz`), b);
    };
    write(names[0], good);
    for (const [n, c] of Object.entries(CASES)) write(`BraTS20_Training_${n}`, c.files());

    let failedJobId = "";
    const failed = await (async () => {
      for await (const m of rig.client.importDirectory({
        source: { case: "localPath", value: root },
        onError: OnError.FAIL,
        split: { testCount: 0 },
      }))
        failedJobId ||= m.job?.id ?? "";
    })().then(
      () => undefined,
      (e) => e,
    );
    expect(failed?.code).toBe(3);
    // The job says the same through the JobService: error_code is the gRPC code name, as in every service.
    const got = (await rig.jobs.getJob({ jobId: failedJobId })).job;
    expect(got?.state).toBe(JobState.FAILED);
    expect(got?.errorCode).toBe("INVALID_ARGUMENT");
    const watched = await collect(rig.jobs.watchJob({ jobId: failedJobId }));
    expect(watched.at(-1)?.job?.errorCode).toBe("INVALID_ARGUMENT");
    expect(watched.at(-1)?.job?.errorMessage).toBe(failed.details);
    expect(failed.details).toMatch(/on_error=skip/);
    expect(failed.details).toMatch(/BraTS20_Training_/);
    // The operator's message names the subject; the logs of the same failure do not.
    expect(logLines.join("").length).toBeGreaterThan(0);
    expect(logLines.join("")).not.toMatch(/BraTS20_Training_|case-/);
    expect(await keys(rig.store, "dataset/")).toEqual([]);

    const msgs = await collect(
      rig.client.importDirectory({
        source: { case: "localPath", value: root },
        onError: OnError.SKIP,
        split: { testFraction: 0.01 },
      }),
    );
    const last = msgs[msgs.length - 1];
    expect(last.job?.state).toBe(JobState.SUCCEEDED);
    const report = last.report!;
    expect(report.subjectsImported).toBe(1);
    for (const [n, c] of Object.entries(CASES)) {
      const entries = report.skipped.filter((s) => s.sourceName === `BraTS20_Training_${n}`);
      expect(entries.length, `${n} not skipped`).toBeGreaterThan(0);
      expect(entries.map((e) => e.reason).join(" | ")).toMatch(c.reason);
    }
    // The server is still up and serves the dataset made of the one good subject.
    const { dataset } = await rig.client.getDataset({ datasetId: report.datasetId });
    expect(dataset?.trainSlices).toBeGreaterThan(0);
  });

  it("answers unknown ids, bad ids and empty requests with clear statuses", async () => {
    await expect(rig.client.getDataset({ datasetId: "nope" })).rejects.toMatchObject({ code: 5 });
    await expect(rig.client.getDataset({ datasetId: "../x" })).rejects.toMatchObject({ code: 5 });
    await expect(rig.client.getDataset({ datasetId: "" })).rejects.toMatchObject({ code: 3 });
    await expect(collect(rig.client.streamSlices({ datasetId: "nope", split: Split.TRAIN }))).rejects.toMatchObject({
      code: 5,
    });
    await expect(collect(rig.client.importDirectory({}))).rejects.toMatchObject({ code: 3 });
    await expect(
      collect(rig.client.importDirectory({ source: { case: "localPath", value: join(rig.dir, "missing") } })),
    ).rejects.toMatchObject({ code: 5 });
    await expect(
      collect(rig.client.importDirectory({ source: { case: "localPath", value: "relative/dir" } })),
    ).rejects.toMatchObject({
      code: 3,
    });
    await expect(rig.jobs.getJob({ jobId: "job-nope" })).rejects.toMatchObject({ code: 5 });
  });
});

// Bad files over gRPC and kill -9 during an import (issue 17 standing suite), against the production ingest
// entrypoint: a cohort with a NaN FLAIR and a truncated file is refused with INVALID_ARGUMENT (nothing stored),
// or imported with on_error=skip where the report AND the manifest name what was left out and why; an ingest
// killed with SIGKILL mid-import resumes the job on restart to a complete dataset.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IngestService, JobService, JobState, OnError } from "@synthmri/contracts";
import { MinioObjectStore } from "@synthmri/platform";
import { type Client, createClient, type RpcError } from "@synthmri/rpc";
import { generatePhantomSubject, phantomSubjectFiles, writeNifti } from "@synthmri/volume";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Rig, startRig } from "./rig.js";

let rig: Rig;
let ingest: Client<typeof IngestService.method>;
let cohort: string;
beforeAll(async () => {
  rig = await startRig({ services: ["ingest"] });
  ingest = createClient(IngestService, rig.address.ingest, { retry: false });
  cohort = join(rig.env.SYNTHMRI_DATA_DIR!, "cohorts", "bad");
  for (let i = 0; i < 4; i++) {
    const s = generatePhantomSubject(i, { size: [48, 48, 24], seed: "rel" });
    const files = phantomSubjectFiles(s);
    if (i === 1)
      files[`${s.id}_flair.nii.gz`] = writeNifti({
        shape: s.shape,
        affine: s.affine,
        data: Float32Array.from(s.flair, (v, j) => (j === 500 ? Number.NaN : v)),
      });
    if (i === 2) files[`${s.id}_t2.nii.gz`] = files[`${s.id}_t2.nii.gz`]!.subarray(0, 200);
    mkdirSync(join(cohort, s.id), { recursive: true });
    for (const [f, bytes] of Object.entries(files)) writeFileSync(join(cohort, s.id, f), bytes);
  }
}, 180_000);
afterAll(async () => {
  ingest?.close();
  await rig?.close();
});

async function lastMessage(onError: OnError) {
  let report: { skipped: { reason: string; file: string }[]; datasetId: string; subjectsImported: number } | undefined;
  for await (const m of ingest.importDirectory({
    source: { case: "localPath", value: cohort },
    onError,
    split: { testCount: 1 },
  })) {
    if (m.report) report = m.report;
  }
  return report;
}

describe("bad files over gRPC", () => {
  it("on_error=fail: INVALID_ARGUMENT naming the NaN voxels, and no dataset is stored", async () => {
    const before = (await ingest.listDatasets({})).datasets.length;
    let err: RpcError | undefined;
    try {
      await lastMessage(OnError.FAIL);
    } catch (e) {
      err = e as RpcError;
    }
    expect(err?.code, err?.details).toBe(3);
    expect(err?.details).toMatch(/NaN|truncated|ends|needs bytes/);
    expect((await ingest.listDatasets({})).datasets.length).toBe(before);
  });

  it("on_error=skip: the report and the manifest both say which files were left out and why", async () => {
    const report = await lastMessage(OnError.SKIP);
    expect(report?.subjectsImported).toBe(2);
    expect(report?.skipped.map((s) => s.reason).join(" ")).toMatch(/NaN/);
    const store = new MinioObjectStore({ ...rig.s3, bucket: "synthmri" });
    const manifest = JSON.parse((await store.getBuffer(`dataset/${report!.datasetId}/manifest.json`)).toString()) as {
      skipped?: { file: string; reason: string }[];
    };
    expect(manifest.skipped?.map((s) => s.file).sort()).toEqual(["flair", "t2"]);
    expect(manifest.skipped?.find((s) => s.file === "flair")?.reason).toMatch(/NaN/);
    expect(JSON.stringify(manifest.skipped)).not.toMatch(/BraTS20_Training/);
  });
});

describe("kill -9 during an import", () => {
  it("the job resumes after a restart and finishes the dataset", async () => {
    const stream = ingest.importDirectory({
      source: { case: "localPath", value: cohort },
      onError: OnError.SKIP,
      split: { testCount: 1 },
    });
    let jobId = "";
    try {
      for await (const m of stream) {
        if (m.job?.id && m.job.state === JobState.RUNNING) {
          jobId = m.job.id;
          rig.processes.get("ingest")!.proc.kill("SIGKILL");
          break;
        }
      }
    } catch {
      // the stream breaks with the process
    }
    expect(jobId).not.toBe("");
    await rig.processes.get("ingest")!.exited;
    await rig.start("ingest");
    const jobs = createClient(JobService, rig.address.ingest);
    try {
      let state = JobState.UNSPECIFIED;
      for await (const r of jobs.watchJob({ jobId, minIntervalMs: 50 }, { deadlineMs: 120_000 }))
        state = r.job?.state ?? state;
      expect(JobState[state]).toBe("SUCCEEDED");
    } finally {
      jobs.close();
    }
  });
});

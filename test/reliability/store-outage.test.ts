// Object store down and back (issue 17 standing suite), against the production entrypoints: with the store
// stopped, calls that need it answer UNAVAILABLE naming the store and S3_ENDPOINT (not INTERNAL, not a hang),
// the servers keep answering health checks, and the same calls succeed once the store is back. An import whose
// store goes away mid-job fails with UNAVAILABLE, leaves no dataset behind, and the same import succeeds after.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GeneratorService, IngestService, JobService, JobState, SegmenterService } from "@synthmri/contracts";
import { type Client, createClient, type RpcError } from "@synthmri/rpc";
import { generatePhantomSubject, phantomSubjectFiles } from "@synthmri/volume";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthStatus, type Rig, startRig } from "./rig.js";

const UNAVAILABLE = 14;
const SERVING = 1;

let rig: Rig;
let ingest: Client<typeof IngestService.method>;
let generator: Client<typeof GeneratorService.method>;
let segmenter: Client<typeof SegmenterService.method>;
let cohort: string;

beforeAll(async () => {
  rig = await startRig({ services: ["ingest", "generator", "segmenter"] });
  ingest = createClient(IngestService, rig.address.ingest, { retry: false });
  generator = createClient(GeneratorService, rig.address.generator, { retry: false });
  segmenter = createClient(SegmenterService, rig.address.segmenter, { retry: false });
  cohort = join(rig.env.SYNTHMRI_DATA_DIR!, "cohorts", "outage");
  for (let i = 0; i < 6; i++) {
    const s = generatePhantomSubject(i, { size: [48, 48, 24], seed: "outage" });
    mkdirSync(join(cohort, s.id), { recursive: true });
    for (const [f, bytes] of Object.entries(phantomSubjectFiles(s))) writeFileSync(join(cohort, s.id, f), bytes);
  }
}, 180_000);
afterAll(async () => {
  for (const c of [ingest, generator, segmenter]) c?.close();
  await rig?.close();
});

async function statusOf(call: () => Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await call();
    return { code: 0, details: "" };
  } catch (e) {
    const err = e as RpcError;
    return { code: err.code, details: err.details ?? String(e) };
  }
}

const cheapCalls = () =>
  ({
    "ingest ListDatasets": () => ingest.listDatasets({}, { deadlineMs: 30_000 }),
    "generator ListEnsembles": () => generator.listEnsembles({}, { deadlineMs: 30_000 }),
    "segmenter ListModels": () => segmenter.listModels({}, { deadlineMs: 30_000 }),
  }) as const;

describe("object store down and back", () => {
  it("between calls: UNAVAILABLE naming the store, health still answers, the calls succeed once it is back", async () => {
    for (const [name, call] of Object.entries(cheapCalls())) expect((await statusOf(call)).code, name).toBe(0);
    await rig.stopStore();
    try {
      for (const [name, call] of Object.entries(cheapCalls())) {
        const s = await statusOf(call);
        expect(s.code, `${name}: ${s.details}`).toBe(UNAVAILABLE);
        expect(s.details, name).toMatch(/object store/);
        expect(s.details, name).toMatch(/S3_ENDPOINT/);
        expect(s.details, name).not.toMatch(/AKIA|secret/i);
      }
      for (const service of ["ingest", "generator", "segmenter"] as const)
        expect(await healthStatus(rig.address[service]), service).toBe(SERVING);
    } finally {
      await rig.restartStore();
    }
    for (const [name, call] of Object.entries(cheapCalls())) expect((await statusOf(call)).code, name).toBe(0);
  }, 120_000);

  it("mid-import: the job fails UNAVAILABLE, no dataset is left, the same import succeeds after", async () => {
    const before = (await ingest.listDatasets({})).datasets.map((d) => d.id);
    const request = { source: { case: "localPath" as const, value: cohort }, split: { testCount: 1 } };
    let jobId = "";
    let failure: { code: number; details: string } | undefined;
    try {
      for await (const m of ingest.importDirectory(request, { deadlineMs: 120_000 })) {
        // The first subject's progress: the job is writing shards now.
        if (m.job?.id && m.job.state === JobState.RUNNING && (m.job.progress?.fraction ?? 0) > 0 && !jobId) {
          jobId = m.job.id;
          await rig.stopStore();
        }
      }
    } catch (e) {
      failure = { code: (e as RpcError).code, details: (e as RpcError).details };
    }
    expect(jobId).not.toBe("");
    const jobs = createClient(JobService, rig.address.ingest, { retry: false });
    try {
      const status = (await jobs.getJob({ jobId })).job;
      // The stream and the job both say UNAVAILABLE (the store), not INTERNAL.
      if (failure) expect(failure.code, failure.details).toBe(UNAVAILABLE);
      expect(status?.state).toBe(JobState.FAILED);
      expect(status?.errorCode, status?.errorMessage).toBe("UNAVAILABLE");
      expect(status?.errorMessage).toMatch(/object store.*unreachable/);
      expect(await healthStatus(rig.address.ingest)).toBe(SERVING);
    } finally {
      jobs.close();
      await rig.restartStore();
    }
    expect((await ingest.listDatasets({})).datasets.map((d) => d.id)).toEqual(before);

    // The FAILED status reaches the store once it is back: a restarted ingest must not take the job for an
    // interrupted one and run it again (attempt 2).
    rig.processes.get("ingest")!.proc.kill("SIGTERM");
    await rig.processes.get("ingest")!.exited;
    await rig.start("ingest");
    ingest.close();
    ingest = createClient(IngestService, rig.address.ingest, { retry: false });
    const again = createClient(JobService, rig.address.ingest, { retry: false });
    try {
      const status = (await again.getJob({ jobId })).job;
      expect(JobState[status?.state ?? 0]).toBe("FAILED");
      expect(status?.attempt).toBe(1);
    } finally {
      again.close();
    }

    let report: { datasetId: string; subjectsImported: number } | undefined;
    for await (const m of ingest.importDirectory(request, { deadlineMs: 120_000 })) if (m.report) report = m.report;
    expect(report?.subjectsImported).toBe(6);
    const after = (await ingest.listDatasets({})).datasets.map((d) => d.id);
    expect(after.filter((id) => !before.includes(id))).toEqual([report!.datasetId]);
  }, 240_000);
});

// An import interrupted by a restart resumes under the same job and dataset id on the next start.
import { join } from "node:path";
import { IngestService, JobService, JobState } from "@synthmri/contracts";
import { createClient } from "@synthmri/rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../src/server.js";
import { keys, type Rig, SALT, startRig, writePhantomCohort } from "./helpers.js";

let rig: Rig;
beforeAll(async () => {
  rig = await startRig("resume");
});
afterAll(async () => {
  await rig?.close();
});

describe("ingest service: restart", () => {
  it("resumes an interrupted import after a restart and finishes it", async () => {
    const cohort = join(rig.dir, "cohort");
    writePhantomCohort(cohort, 5, [40, 40, 24]);
    let jobId = "";
    for await (const m of rig.client.importDirectory({
      source: { case: "localPath", value: cohort },
      split: { testCount: 1 },
    })) {
      if (m.job?.state === JobState.RUNNING && (m.job.progress?.done ?? 0) >= 1) {
        jobId = m.job.id;
        break;
      }
    }
    expect(jobId).not.toBe("");
    // Stop the service as SIGTERM would: the job stays RUNNING in the store, its partial files are removed.
    await rig.ingest.close();
    expect(await keys(rig.store, "dataset/")).toEqual([]);

    const again = await startServer({ store: rig.store, salt: SALT, gzipLevel: 1 });
    const jobs = createClient(JobService, again.address);
    const ingest = createClient(IngestService, again.address);
    try {
      let last: JobState | undefined;
      let datasetId = "";
      for await (const w of jobs.watchJob({ jobId })) {
        last = w.job?.state;
        datasetId = w.job?.outputs.datasetId ?? "";
      }
      expect(last).toBe(JobState.SUCCEEDED);
      const got = await jobs.getJob({ jobId });
      expect(got.job?.attempt).toBe(2);
      const { dataset } = await ingest.getDataset({ datasetId, includeSubjects: true });
      expect(dataset?.subjects).toHaveLength(5);
    } finally {
      jobs.close();
      ingest.close();
      await again.close();
    }
  });
});

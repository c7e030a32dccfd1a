// Graceful shutdown of a real service process: SIGTERM while a server-streaming call is in flight (ingest's
// ImportDirectory streams job progress until the import ends). The server stops accepting, the call runs to its
// last message, and the process exits 0.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IngestService, JobState } from "@synthmri/contracts";
import { type EmbeddedS3, startEmbeddedS3 } from "@synthmri/platform";
import { createClient } from "@synthmri/rpc";
import { generatePhantomSubject, phantomSubjectFiles } from "@synthmri/volume";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, secretFiles, servicesWithEntrypoint, startEntrypoint } from "./helpers.js";

describe.skipIf(!servicesWithEntrypoint().includes("ingest"))("graceful shutdown (SIGTERM)", () => {
  let dir: string;
  let s3: EmbeddedS3;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ops-drain-"));
    s3 = await startEmbeddedS3({ dataDir: join(dir, "store") });
  });
  afterAll(async () => {
    await s3?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lets an in-flight stream finish, then exits 0", async () => {
    const cohort = join(dir, "cohort");
    for (let i = 0; i < 4; i++) {
      const s = generatePhantomSubject(i, { size: [48, 48, 32], seed: "drain" });
      mkdirSync(join(cohort, s.id), { recursive: true });
      for (const [f, bytes] of Object.entries(phantomSubjectFiles(s))) writeFileSync(join(cohort, s.id, f), bytes);
    }
    const port = await freePort();
    const p = startEntrypoint("ingest", {
      HOST: "127.0.0.1",
      INGEST_PORT: String(port),
      SYNTHMRI_DATA_DIR: join(dir, "data"),
      S3_ENDPOINT: s3.endpoint,
      ...secretFiles(dir, s3),
      GRPC_SHUTDOWN_GRACE_MS: "60000",
      IMPORT_ROOTS: cohort,
    });
    const client = createClient(IngestService, `127.0.0.1:${port}`, { retry: false });
    try {
      await p.ready;
      const states: JobState[] = [];
      let signalled = false;
      let afterSignal = 0;
      let report: { subjectsImported: number } | undefined;
      for await (const m of client.importDirectory({
        source: { case: "localPath", value: cohort },
        split: { testCount: 1 },
      })) {
        if (m.job) states.push(m.job.state);
        if (m.report) report = m.report;
        if (signalled) afterSignal++;
        else if (m.job?.state === JobState.RUNNING) {
          p.proc.kill("SIGTERM");
          signalled = true;
        }
      }
      expect(signalled).toBe(true);
      expect(states.at(-1)).toBe(JobState.SUCCEEDED);
      expect(report?.subjectsImported).toBe(4);
      expect(afterSignal).toBeGreaterThan(0);
      expect(await p.exited, p.stderr()).toEqual({ code: 0, signal: null });
      // The signal was handled while the stream was still open: the drain started with it in flight.
      const draining = p
        .stderr()
        .split("\n")
        .filter((l) => l.includes('"msg":"grpc server draining"'))
        .map((l) => JSON.parse(l) as { inFlight: number });
      expect(draining).toHaveLength(1);
      expect(draining[0].inFlight).toBeGreaterThanOrEqual(1);
    } finally {
      client.close();
      if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill("SIGKILL");
    }
  });
});

// `synthmri ingest DIR` alone: an in-process server on the embedded store under SYNTHMRI_DATA_DIR.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { run } from "../../../cli/src/commands/ingest.js";
import { writePhantomCohort } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "ingest-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("synthmri ingest", () => {
  it("imports a directory with a report, and explains bad usage", async () => {
    const cohort = join(dir, "cohort");
    writePhantomCohort(cohort, 3, [32, 32, 16]);
    vi.stubEnv("SYNTHMRI_DATA_DIR", join(dir, "data"));
    const out: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
    const err = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const write = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(await run([cohort, "--test-count", "1", "--json"])).toBe(0);
      const report = JSON.parse(out.join("\n"));
      expect(report.subjectsImported).toBe(3);
      expect(report.datasetId).toMatch(/^\d{8}-\d{6}-[0-9a-f]{8}$/);
      expect(await run([cohort, "--layout", "nope"])).toBe(2);
      expect(await run([join(dir, "missing")])).toBe(1);
      expect(err.mock.calls.flat().join(" ")).toMatch(/does not exist/);
    } finally {
      log.mockRestore();
      err.mockRestore();
      write.mockRestore();
      vi.unstubAllEnvs();
    }
  });
});

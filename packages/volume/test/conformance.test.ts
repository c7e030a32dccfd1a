import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkReferenceEntry } from "../src/index.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const dir = path.resolve(repoRoot, "../shared/conformance/nifti");
const present = existsSync(path.join(dir, "reference.json"));
if (!present) console.warn(`skipping NIfTI conformance: ${dir}/reference.json not found`);

describe.skipIf(!present)("NIfTI conformance set", () => {
  it("every reference entry matches (not-nifti.nii is rejected)", () => {
    const entries = JSON.parse(readFileSync(path.join(dir, "reference.json"), "utf8")) as Record<string, unknown>[];
    expect(entries.length).toBe(38);
    const failures = entries
      .map((e) => checkReferenceEntry(e, readFileSync(path.join(dir, String(e.file)))))
      .flatMap((r) => r.mismatches);
    expect(failures).toEqual([]);
  }, 60_000);
});

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadManifestSpec } from "../src/experiment/command.js";

export { conditionNames } from "../src/experiment/plan.js";
export { loadPreset, validateSpec } from "../src/experiment/spec.js";

/** Writes text to a temp manifest file and returns the error message of loading it ("" when it loads). */
export function loadManifestSpecSafe(text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), "synthmri-manifest-")), "experiment.json");
  writeFileSync(p, text);
  try {
    loadManifestSpec(p);
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

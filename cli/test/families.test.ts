// The `families` preset and its driver: the preset validates, each family gets its own spec (name, family), the
// driver prints its estimate first, runs the families in order and tabulates per-family Dice from the reports.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { estimateFamiliesSeconds, runFamilies } from "../src/experiment/families.js";
import type { SessionResult } from "../src/experiment/session.js";
import { type ExperimentSpec, loadPreset, specForFamily, validateSpec } from "../src/experiment/spec.js";

describe("families preset", () => {
  it("compares PGAN, two-stage, StyleGAN2 and DDPM on one data spec", () => {
    const s = loadPreset("families");
    expect(s.gan.families).toEqual(["pgan", "spade2stage", "stylegan2", "ddpm"]);
    const d = specForFamily(s, "ddpm");
    expect(d).toMatchObject({ name: "families-ddpm", gan: { family: "ddpm", families: [] } });
    expect(d.data).toEqual(s.data);
    expect(estimateFamiliesSeconds(s)).toBeGreaterThan(600);
    expect(() => validateSpec({ name: "x", gan: { family: "vae" } })).toThrow(/gan.family: must be one of/);
    expect(() => validateSpec({ name: "x", gan: { families: ["ddpm", "gan2"] } })).toThrow(/gan.families/);
  });

  it("runs each family in turn after printing the estimate and tabulates Dice per family", async () => {
    const spec = loadPreset("families");
    const dir = await mkdtemp(join(tmpdir(), "families-"));
    let printed = "";
    const out = new Writable({
      write(chunk, _enc, cb) {
        printed += String(chunk);
        cb();
      },
    });
    const ran: ExperimentSpec[] = [];
    try {
      const res = await runFamilies(
        spec,
        dir,
        async (s) => {
          expect(printed).toMatch(/estimated \d+ min/);
          ran.push(s);
          const i = ran.length;
          return {
            experimentId: `${s.name}-id`,
            wallSeconds: 10 * i,
            result: { report: { summary: { "dice_synthetic-2_WT": i / 10, "dice_real+synthetic-2_WT": 0.5 + i / 100 } } },
          } as unknown as SessionResult;
        },
        out,
      );
      expect(ran.map((s) => s.gan.family)).toEqual(["pgan", "spade2stage", "stylegan2", "ddpm"]);
      const md = await readFile(res.path, "utf8");
      expect(md).toContain("| ddpm | 0.400 | - | - | 0.540 |");
      expect(md).toContain("families-spade2stage-id/report.md");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// The `families` preset and its driver: the preset validates, each family gets its own spec (name, family), the
// driver prints its estimate first, runs the families in order and tabulates per-family Dice from the reports.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { estimateFamiliesSeconds, familiesMarkdown, runFamilies } from "../src/experiment/families.js";
import type { SessionResult } from "../src/experiment/session.js";
import { type ExperimentSpec, loadPreset, specForFamily, validateSpec } from "../src/experiment/spec.js";

const perClass = (cond: string, v: number) =>
  Object.fromEntries(["NCR", "ED", "ET"].map((c) => [`dice_${cond}_${c}`, v]));

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

  it("runs each family in turn after printing the estimate and tabulates Dice, tests and measures per family", async () => {
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
        async (s, extra) => {
          expect(printed).toMatch(/estimated \d+ min/);
          ran.push(s);
          const i = ran.length;
          const result = {
            report: {
              summary: {
                // The evaluator's summary shape: per-class means only; the report's "Mean" is NCR/ED/ET's average.
                ...perClass("synthetic-2", i / 10),
                ...perClass("real+synthetic-2", 0.5 + i / 100),
                ...perClass("real", 0.6),
                "p_corrected_synthetic-2_vs_real_Mean": 0.0001,
                "p_corrected_real_vs_real+synthetic-2_Mean": 0.5,
              },
            },
          };
          // Measuring needs the services: without them the family's row says why it is not measured.
          await extra?.afterRun?.({ clients: {} as never, result: result as never, outDir: dir });
          return { experimentId: `${s.name}-id`, wallSeconds: 10 * i, result } as unknown as SessionResult;
        },
        out,
      );
      expect(ran.map((s) => s.gan.family)).toEqual(["pgan", "spade2stage", "stylegan2", "ddpm"]);
      const md = await readFile(res.path, "utf8");
      expect(md).toContain("| ddpm | 0.400 | - | - | 0.400 | <0.001 | 0.540 | - | - | 0.540 | 0.500 | 0.600 | 40 |");
      expect(md).toMatch(/\| ddpm \| not measured: /);
      expect(md).toContain("families-spade2stage-id/report.md");
      expect(res.outcomes[0].measureError).toBeDefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("writes the memorization study table per family and training-set size", () => {
    const spec = loadPreset("families");
    const arm = (size: string, auc: number) => ({
      size,
      trainingSubjects: size === "full" ? 20 : 4,
      trainingSlices: size === "full" ? 600 : 120,
      synthetic: [0.5, 0.9],
      heldOut: [0.4, 0.6],
      comparison: {
        synthetic: { n: 2, median: 0.7, p95: 0.88, max: 0.9 },
        heldOut: { n: 2, median: 0.5, p95: 0.59, max: 0.6 },
        aboveHeldOutMax: 0.5,
        aboveHeldOutP99: 0.5,
        auc,
      },
    });
    const md = familiesMarkdown(
      spec,
      [
        {
          family: "ddpm",
          experimentId: "x",
          wallSeconds: 1,
          summary: {},
          measures: {
            resolution: 16,
            swd: 12.345,
            frechet: 3.21,
            frechetSufficient: true,
            memorization: [arm("full", 0.625), arm("20 %", 0.75)],
            msPerImage: 42.12,
            errors: [],
          },
        },
      ],
      "fig.png",
    );
    expect(md).toContain("| ddpm | 16 | 12.35 | 3.21 | 42.1 | 0.625 | 0.750 | 50.0 % | 50.0 % | off |");
    expect(md).toContain("| ddpm | 20 % | 4 / 120 | 2 | 0.700 | 0.880 | 0.900 | 2 | 0.500 | 0.590 | 0.600 | 0.750 | 50.0 % |");
    expect(md).toContain("![memorization](fig.png)");
    // Seed 001's filter on the two-stage label maps: rejected of drawn, what it scored, the threshold.
    const two = familiesMarkdown(spec, [
      {
        family: "spade2stage",
        experimentId: "y",
        wallSeconds: 1,
        summary: {},
        measures: {
          resolution: 16,
          swd: 1,
          frechet: 1,
          frechetSufficient: true,
          memorization: [arm("full", 0.5)],
          msPerImage: 1,
          outlier: { filteredOn: "label-maps", delivered: 480, rejected: 12, threshold: 52.42 },
          errors: [],
        },
      },
    ]);
    expect(two).toContain("| on label-maps: 12 of 492 rejected (threshold 52.4) |");
  });
});

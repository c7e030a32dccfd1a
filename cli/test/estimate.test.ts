// `experiment run --estimate` (issue 15): the work a spec implies, and device-hours from step times (pure parts).
import { describe, expect, it } from "vitest";
import { deviceHours, experimentWork, formatEstimate } from "../src/experiment/estimate.js";
import { loadPreset } from "../src/experiment/spec.js";

describe("experimentWork", () => {
  it("counts the paper preset's steps: 20 PGANs to 256 (13 phases of 600 kimg), 9 conditions x 10 U-Nets", () => {
    const spec = loadPreset("paper", { dataPath: "/nonexistent-brats" });
    const w = experimentWork(spec);
    expect(w.gan).toMatchObject({ family: "pgan", resolution: 256, members: 20 });
    expect(w.gan.stepsPerMember).toBe(Math.ceil((13 * 600_000) / w.gan.batch));
    expect(w.conditions).toBe(9);
    expect(w.unet.runs).toBe(90);
    expect(w.unet.size).toBe(256);
    expect(w.unet.widths).toEqual([32, 64, 128, 256, 512, 512]);
    expect(w.unet.heads).toBe(5);
  });
  it("turns step times into device-hours and prints them", () => {
    const spec = loadPreset("paper", { dataPath: "/nonexistent-brats" });
    const w = experimentWork(spec);
    const h = deviceHours(w, { ganMs: 100, unetMs: 50 });
    expect(h.gan).toBeCloseTo((20 * w.gan.stepsPerMember * 100) / 3.6e6, 6);
    expect(h.unet).toBeCloseTo((90 * w.unet.stepsPerRun * 50) / 3.6e6, 6);
    const text = formatEstimate(spec, w, { ganMs: 100, unetMs: 50 }, "test-backend");
    expect(text).toContain("device-hours");
    expect(text).toContain("test-backend");
  });
});

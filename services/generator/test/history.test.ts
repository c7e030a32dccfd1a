// The training-curve recorder stays bounded however long a stretch between checkpoints is, and thinning keeps
// every checkpoint point.
import { describe, expect, it } from "vitest";
import { HistoryRecorder, type HistoryPoint, thin } from "../src/domain/history.js";

const progress = (i: number) => ({
  phase: i < 500 ? "fade-in 8x8" : "stabilize 8x8",
  metrics: { kimg: i / 1000, loss_d: -i, loss_g: i, loss_gp: 0.5, resolution: 8, alpha: Math.min(1, i / 500) },
});

describe("HistoryRecorder", () => {
  it("keeps at most its limit of evenly strided points, then the checkpoint's own point", () => {
    const r = new HistoryRecorder(64);
    for (let i = 0; i < 10_000; i++) r.record(progress(i));
    r.record({ phase: "loading" }); // no metrics: not a training point
    const { points } = r.drain({ kimg: 10, swd: 12.5, resolution: 8, alpha: 1 });
    expect(points.length).toBeLessThanOrEqual(65);
    expect(points.length).toBeGreaterThan(32);
    const steps = points.slice(0, -1);
    expect(steps[0].kimg).toBe(0);
    const gaps = new Set(steps.slice(1).map((p, k) => Math.round((p.kimg - steps[k].kimg) * 1000)));
    expect(gaps.size).toBe(1); // one stride throughout
    expect(points.at(-1)).toMatchObject({ kimg: 10, swd: 12.5, checkpoint: true, phase: "stabilize 8x8" });
    expect(steps.every((p) => p.swd === null && !p.checkpoint && p.lossGp === 0.5)).toBe(true);

    r.record(progress(1));
    const next = r.drain({ kimg: 11, swd: null, resolution: 8, alpha: 1 });
    expect(next.points).toHaveLength(2); // a new stretch starts empty with stride 1
  });

  it("thins evenly to the maximum, keeping every checkpoint", () => {
    const pts: HistoryPoint[] = Array.from({ length: 1000 }, (_, i) => ({
      kimg: i,
      lossD: 0,
      lossG: 0,
      lossGp: 0,
      swd: i % 100 === 99 ? 1 : null,
      resolution: 8,
      phase: "8x8",
      alpha: 1,
      checkpoint: i % 100 === 99,
    }));
    const out = thin(pts, 50);
    expect(out).toHaveLength(50);
    expect(out.filter((p) => p.checkpoint)).toHaveLength(10);
    expect(thin(pts.slice(0, 10), 50)).toHaveLength(10);
  });
});

import { create } from "@bufbuild/protobuf";
import { JobStatusSchema } from "@synthmri/contracts";
import { describe, expect, it } from "vitest";
import { ProgressHistory } from "../src/experiment/progress-history.js";

const status = (fraction: number, metrics: Record<string, number>) =>
  create(JobStatusSchema, { progress: { fraction, metrics } });

describe("ProgressHistory", () => {
  it("splits a job's interleaved runs into one curve per run, over each run's iterations", () => {
    const h = new ProgressHistory();
    h.record("unet", "real", status(0.1, { run: 0, iteration: 1, loss: 2 }));
    h.record("unet", "real", status(0.15, { run: 1, iteration: 1, loss: 3 }));
    h.record("unet", "real", status(0.2, { run: 0, iteration: 2, loss: 1.5 }));
    h.record("unet", "real", status(0.2, { run: 0, iteration: 2, loss: 1.5 })); // repeated snapshot
    const curves = h.byGroup("unet");
    expect(curves.map((c) => c.name)).toEqual(["real run 1", "real run 2"]);
    expect(curves[0].points.map((p) => [p.x, p.metrics.loss])).toEqual([
      [1, 2],
      [2, 1.5],
    ]);
    expect(curves.every((c) => c.unit === "iteration")).toBe(true);
  });

  it("keeps one curve over the job's percent when snapshots carry no run (GAN members)", () => {
    const h = new ProgressHistory();
    h.record("gan", "member 1", status(0.25, { d_loss: 1 }));
    h.record("gan", "member 1", status(0.5, { d_loss: 0.5 }));
    h.record("gan", "member 1", status(0.5, {})); // no finite metrics: nothing to draw
    const [c] = h.byGroup("gan");
    expect(c.name).toBe("member 1");
    expect(c.points.map((p) => p.x)).toEqual([25, 50]);
  });
});

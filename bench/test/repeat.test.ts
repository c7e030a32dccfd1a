// bench:repeat's aggregation: medians per bench and thread count, the median of per-run ratios with its range, and
// each side's speed-up computed within a run (so two runs at different host loads are never mixed in one ratio).
import { describe, expect, it } from "vitest";
import { median, summarise } from "../src/repeat.js";
import type { BenchResult } from "../src/types.js";

const row = (bench: string, threads: number, product_ms: number, peer_ms: number): BenchResult => ({
  bench,
  threads,
  product_ms,
  peer_ms,
  ratio: Math.round((product_ms / peer_ms) * 100) / 100,
});

describe("bench:repeat summarise", () => {
  it("median of odd and even counts", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("gives medians, ratio ranges and per-run speed-ups; ignores rows without a time", () => {
    const runs = [
      [row("unet-train", 1, 100, 100), row("unet-train", 2, 50, 60), { bench: "unet-train-profile", threads: 1 }],
      [row("unet-train", 1, 200, 100), row("unet-train", 2, 100, 50)],
      [row("unet-train", 1, 120, 100), row("unet-train", 2, 80, 62.5)],
    ];
    const rows = summarise(runs);
    expect(rows).toHaveLength(2);
    const one = rows.find((r) => r.threads === 1)!;
    expect(one).toMatchObject({ runs: 3, product_ms: 120, peer_ms: 100, ratio: 1.2, ratio_min: 1, ratio_max: 2 });
    expect(one.product_speedup).toBeUndefined();
    const two = rows.find((r) => r.threads === 2)!;
    // Per run: product 2, 2, 1.5 -> 2; peer 1.67, 2, 1.6 -> 1.67.
    expect(two.product_speedup).toBe(2);
    expect(two.peer_speedup).toBe(1.67);
    expect(two.ratio).toBe(1.28);
  });
});

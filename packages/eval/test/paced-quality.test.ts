// The image-set measures as steps: paced runs (for processes that serve or call gRPC) give exactly the results of
// the one-go runs, and no step holds the thread for long, so the paced runner can answer keepalive pings.
import { describe, expect, it } from "vitest";
import { type Steps, runSteps } from "@synthmri/core";
import { Rng } from "@synthmri/ml";
import {
  calibrateMemorizationGate,
  calibrateMemorizationGateAsync,
  type ImageSet,
  MaxCorrelationAccumulator,
  MemorizationGate,
  memorizationReport,
  memorizationReportAsync,
  slicedWassersteinDistance,
  slicedWassersteinDistanceAsync,
  slicedWassersteinSteps,
} from "../src/quality/index.js";

function noise(rng: Rng, n: number, side = 32, c = 5): ImageSet {
  const data = new Uint8Array(n * side * side * c);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(256 * rng.next());
  return { data, n, h: side, w: side, c };
}

/** Runs the steps to the end; returns the result and the longest CPU time of one step (ms). */
function longestStep<T>(steps: Steps<T>): { value: T; maxStepMs: number; totalMs: number; count: number } {
  let maxStepMs = 0;
  let totalMs = 0;
  let count = 0;
  for (;;) {
    const t = process.cpuUsage();
    const r = steps.next();
    const u = process.cpuUsage(t);
    const ms = (u.user + u.system) / 1000;
    maxStepMs = Math.max(maxStepMs, ms);
    totalMs += ms;
    count++;
    if (r.done) return { value: r.value, maxStepMs, totalMs, count };
  }
}

describe("paced image-set measures", () => {
  const rng = new Rng(11);
  const train = noise(rng, 80);
  const heldOut = noise(rng, 24);
  const syn = noise(rng, 40);

  it("memorization: gate, report, calibration and the study's accumulator agree with the one-go runs", async () => {
    const gate = new MemorizationGate(train, { channels: [0, 1, 2, 3] });
    expect(await gate.matchAsync(syn, { sliceMs: 1 })).toEqual(gate.match(syn));
    const fresh = new MemorizationGate(train, { channels: [0, 1, 2, 3] });
    expect(await fresh.checkAsync(syn, { sliceMs: 1 })).toEqual(gate.check(syn));
    expect(await memorizationReportAsync(syn, train, { pace: { sliceMs: 1 } })).toEqual(memorizationReport(syn, train));
    expect(await calibrateMemorizationGateAsync(heldOut, train, 99, { pace: { sliceMs: 1 } })).toEqual(
      calibrateMemorizationGate(heldOut, train),
    );
    const paced = await new MaxCorrelationAccumulator(train, [0, 1, 2, 3]).addAsync(syn, { sliceMs: 1 });
    await paced.addAsync(heldOut, { sliceMs: 1 });
    expect(paced.values).toEqual(new MaxCorrelationAccumulator(train, [0, 1, 2, 3]).add(syn).add(heldOut).values);
  });

  it("SWD: the paced run equals the one-go run", async () => {
    const o = { nhoodsPerImage: 8, dirRepeats: 1, dirsPerRepeat: 16, seed: 5 };
    expect(await slicedWassersteinDistanceAsync(syn, train, o, { sliceMs: 1 })).toEqual(
      slicedWassersteinDistance(syn, train, o),
    );
  });

  it("no step of the memorization match or the SWD holds the thread for long", () => {
    // ~0.1-0.3 s of CPU each, in steps of well under a millisecond at this size (20 ms leaves room for GC pauses).
    const gate = new MemorizationGate(train);
    const m = longestStep(gate.matchSteps(syn));
    expect(m.value).toEqual(runSteps(new MemorizationGate(train).matchSteps(syn)));
    expect(m.count).toBeGreaterThan(100);
    expect(m.maxStepMs).toBeLessThan(20);
    const s = longestStep(slicedWassersteinSteps(syn, train, { nhoodsPerImage: 16, dirRepeats: 1, dirsPerRepeat: 32 }));
    expect(s.count).toBeGreaterThan(100);
    expect(s.maxStepMs).toBeLessThan(20);
  });
});

import { describe, expect, it } from "vitest";
import { runSteps, runStepsPaced, type Steps } from "../src/index.js";

/** Busy work of `ms` per step, `count` steps; returns the count. */
function* busy(count: number, ms: number, log: string[] = []): Steps<number> {
  try {
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      while (performance.now() - t < ms) {}
      yield;
    }
    return count;
  } finally {
    log.push("finally");
  }
}

describe("steps", () => {
  it("runSteps runs to the end without letting the event loop in", () => {
    let ticks = 0;
    const timer = setImmediate(() => ticks++);
    expect(runSteps(busy(5, 1))).toBe(5);
    expect(ticks).toBe(0);
    clearImmediate(timer);
  });

  it("runStepsPaced gives the same result and lets macrotasks run between slices", async () => {
    let ticks = 0;
    const interval = setInterval(() => ticks++, 1);
    try {
      // 40 steps of 5 ms with 10 ms slices: at least a dozen breaks where the interval can fire.
      expect(await runStepsPaced(busy(40, 5), { sliceMs: 10 })).toBe(40);
    } finally {
      clearInterval(interval);
    }
    expect(ticks).toBeGreaterThanOrEqual(5);
  });

  it("an aborted signal stops the work at the next yield with its reason, and the generator is closed", async () => {
    const ctl = new AbortController();
    const log: string[] = [];
    setImmediate(() => ctl.abort(new Error("stop now")));
    await expect(runStepsPaced(busy(1_000_000, 1, log), { sliceMs: 1, signal: ctl.signal })).rejects.toThrow(
      "stop now",
    );
    expect(log).toEqual(["finally"]);
  });
});

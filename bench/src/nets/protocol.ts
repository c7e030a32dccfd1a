// The spec's measurement protocol: untimed warm-up steps, then timed steps, each timed separately
// with a monotonic clock; report median (mean of the middle two for an even count) and min.
export interface StepTiming {
  median: number;
  min: number;
  times: number[];
}

export function timeSteps(step: () => unknown, warmup = 3, steps = 10): StepTiming {
  for (let i = 0; i < warmup; i++) step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const r = (v: number) => Math.round(v * 100) / 100;
  return { median: r(median), min: r(sorted[0]), times };
}

// `npm run bench -- --profile`: where one step goes, per kernel kind. Every kernel registered for the active backend
// is wrapped for the profiled steps (gradient kernels included; a kernel called from inside another counts towards the
// outer one), and the backend's data store is watched for new buffers (an array stored again is a pooled one). What no kernel does (tape bookkeeping, the
// optimizers' in-place updates through the addon, garbage collection) is the step's remainder.
// With the native addon, the pool times every task in thread CPU time and replays the tasks onto idle cores: `est_ms`
// is what a kind (and the step) would take on a quiet host at this thread count, whatever the load now. The part
// of it on the calling thread outside the pool (JS kernels, packing, bookkeeping) is `serial_ms`: what a second
// thread cannot shorten.
import { PerformanceObserver } from "node:perf_hooks";
import { tf } from "@synthmri/ml";
import { createBenchGan, createBenchUnet } from "./nets/index.js";

export interface OpProfile {
  /** tfjs kernel name (Conv2D, Conv2DBackpropFilter, ...). */
  op: string;
  /** Calls per step. */
  calls: number;
  /** Wall ms per step inside this kernel kind. */
  ms: number;
  /** New buffers (typed arrays not stored in the backend before: not from the buffer pool) per step, and their bytes. */
  allocs: number;
  bytes: number;
  /** Quiet-host estimate of the wall ms per step at this thread count (native addon only), and its serial part. */
  est_ms?: number;
  serial_ms?: number;
}

export interface StepProfile {
  steps: number;
  /** Wall ms per step, all of it. */
  step_ms: number;
  /** Sum of the kernels' ms per step. */
  kernel_ms: number;
  /** Process CPU ms per step (all threads): less sensitive to other load than wall time; over step_ms x threads it
   * says how busy the threads were. */
  cpu_ms: number;
  /** Garbage-collection pause ms per step (perf_hooks "gc" entries). */
  gc_ms: number;
  allocs: number;
  bytes: number;
  /** Quiet-host estimate of the step (native addon only): calling-thread CPU outside the pool plus the pool's replayed
   * parallel_for wall time; serial_ms the first part; pool_calls parallel_for calls per step. */
  est_ms?: number;
  serial_ms?: number;
  pool_calls?: number;
  ops: OpProfile[];
}

/** The addon's pool counters (see packages/ml/native/src/pool.h), when the addon is loaded and has them. */
interface PoolProbe {
  setProfiling(on: boolean): void;
  profileCounters(): number[];
}

async function poolProbe(): Promise<PoolProbe | null> {
  if (tf.getBackend() !== "cpu") return null;
  const modPath = "../../packages/ml/src/native/addon.js";
  const mod = (await import(modPath)) as {
    loadNativeAddon?: () => { setProfiling?: (on: boolean) => void; profileCounters?: () => number[] } | null;
  };
  const addon = mod.loadNativeAddon?.();
  if (addon?.setProfiling == null || addon.profileCounters == null) return null;
  return addon as PoolProbe;
}

/** [estimated quiet ms, serial ms, pool calls] between two counter readings. */
function estimate(a: number[], b: number[]): [number, number, number] {
  const serial = b[4] - a[4] - (b[3] - a[3]);
  return [(serial + b[1] - a[1]) / 1e6, serial / 1e6, b[0] - a[0]];
}

interface DataStore {
  set(dataId: object, value: { values?: unknown }): void;
}

/** Wraps every kernel of the active backend and its buffer store; `restore` puts both back. */
function instrument(byOp: Map<string, OpProfile>, pool: PoolProbe | null): { restore: () => void; record: () => void } {
  const backendName = tf.getBackend();
  const store = (tf.backend() as unknown as { data?: DataStore }).data;
  let allocs = 0;
  let bytes = 0;
  let recording = false;
  // Arrays already stored once since the probe went in: stored again, they came from the buffer pool, not new memory.
  const seen = new WeakSet<object>();
  const originalSet = store?.set;
  if (store && originalSet) {
    store.set = function (this: DataStore, dataId, value) {
      const v = value?.values;
      if (ArrayBuffer.isView(v) && v.byteLength > 0 && !seen.has(v)) {
        seen.add(v);
        if (recording) {
          allocs += 1;
          bytes += v.byteLength;
        }
      }
      return originalSet.call(this, dataId, value);
    };
  }
  let depth = 0;
  const configs = tf.getKernelsForBackend(backendName);
  for (const config of configs) {
    const inner = config.kernelFunc;
    tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        if (depth > 0 || !recording) return inner(args);
        depth++;
        const a0 = allocs;
        const b0 = bytes;
        const c0 = pool?.profileCounters();
        const t0 = performance.now();
        try {
          return inner(args);
        } finally {
          const ms = performance.now() - t0;
          const row = byOp.get(config.kernelName) ?? { op: config.kernelName, calls: 0, ms: 0, allocs: 0, bytes: 0 };
          row.calls += 1;
          row.ms += ms;
          if (pool && c0) {
            const [est, serial] = estimate(c0, pool.profileCounters());
            row.est_ms = (row.est_ms ?? 0) + est;
            row.serial_ms = (row.serial_ms ?? 0) + serial;
          }
          row.allocs += allocs - a0;
          row.bytes += bytes - b0;
          byOp.set(config.kernelName, row);
          depth--;
        }
      },
    });
  }
  return {
    record() {
      recording = true;
    },
    restore() {
      for (const config of configs) {
        tf.unregisterKernel(config.kernelName, backendName);
        tf.registerKernel(config);
      }
      if (store && originalSet) store.set = originalSet;
    },
  };
}

/** Runs `step` once untimed, then `steps` times instrumented; per-step averages by kernel kind, slowest first. */
export async function profileSteps(step: () => unknown, steps = 3): Promise<StepProfile> {
  const byOp = new Map<string, OpProfile>();
  const pool = await poolProbe();
  const probe = instrument(byOp, pool);
  try {
    step(); // untimed: fills the buffer pool, so that the profiled steps count only buffers it could not supply
  } catch (e) {
    probe.restore();
    throw e;
  }
  probe.record();
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  observer.observe({ entryTypes: ["gc"] });
  pool?.setProfiling(true);
  const p0 = pool?.profileCounters();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let stepEstimate: [number, number, number] | undefined;
  try {
    for (let i = 0; i < steps; i++) step();
    if (pool && p0) stepEstimate = estimate(p0, pool.profileCounters());
  } finally {
    pool?.setProfiling(false);
    probe.restore();
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  // gc entries are delivered asynchronously: let the observer drain before reading the total.
  await new Promise((r) => setTimeout(r, 20));
  observer.disconnect();
  const r2 = (v: number) => Math.round(v * 100) / 100;
  const ops = [...byOp.values()]
    .map((o) => ({
      op: o.op,
      calls: r2(o.calls / steps),
      ms: r2(o.ms / steps),
      allocs: r2(o.allocs / steps),
      bytes: Math.round(o.bytes / steps),
      ...(o.est_ms == null ? {} : { est_ms: r2(o.est_ms / steps), serial_ms: r2((o.serial_ms ?? 0) / steps) }),
    }))
    .sort((a, b) => (b.est_ms ?? b.ms) - (a.est_ms ?? a.ms));
  const sum = (f: (o: OpProfile) => number) => ops.reduce((s, o) => s + f(o), 0);
  return {
    steps,
    step_ms: r2(wall / steps),
    cpu_ms: r2((cpu.user + cpu.system) / 1000 / steps),
    kernel_ms: r2(sum((o) => o.ms)),
    gc_ms: r2(gcMs / steps),
    allocs: r2(sum((o) => o.allocs)),
    bytes: sum((o) => o.bytes),
    ...(stepEstimate == null
      ? {}
      : {
          est_ms: r2(stepEstimate[0] / steps),
          serial_ms: r2(stepEstimate[1] / steps),
          pool_calls: r2(stepEstimate[2] / steps),
        }),
    ops,
  };
}

/** The profile as aligned text lines (for stderr): totals, then one line per kernel kind. */
export function formatProfile(title: string, p: StepProfile, top = 25): string[] {
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  const pct = (ms: number) => `${((100 * ms) / p.step_ms).toFixed(1)}%`;
  const est = p.est_ms != null;
  const lines = [
    `${title}: ${p.step_ms} ms/step, ${p.cpu_ms} ms CPU (profiled, ${p.steps} steps): kernels ${p.kernel_ms} ms, outside kernels ` +
      `${(p.step_ms - p.kernel_ms).toFixed(1)} ms (of which gc ${p.gc_ms} ms); ${p.allocs} allocations, ${mb(p.bytes)} MiB per step`,
    ...(est
      ? [
          `quiet-host estimate ${p.est_ms} ms/step (serial on the calling thread ${p.serial_ms} ms, ${p.pool_calls} pool calls)`,
        ]
      : []),
    `${"op".padEnd(30)} ${"calls".padStart(6)} ${"ms".padStart(8)} ${"share".padStart(6)} ${"allocs".padStart(6)} ${"MiB".padStart(7)}` +
      (est ? ` ${"est ms".padStart(8)} ${"serial".padStart(8)}` : ""),
  ];
  for (const o of p.ops.slice(0, top)) {
    lines.push(
      `${o.op.padEnd(30)} ${String(o.calls).padStart(6)} ${o.ms.toFixed(2).padStart(8)} ${pct(o.ms).padStart(6)} ${String(o.allocs).padStart(6)} ${mb(o.bytes).padStart(7)}` +
        (est ? ` ${(o.est_ms ?? 0).toFixed(2).padStart(8)} ${(o.serial_ms ?? 0).toFixed(2).padStart(8)}` : ""),
    );
  }
  if (p.ops.length > top) lines.push(`... ${p.ops.length - top} more kinds`);
  return lines;
}

/** Profiles one product bench (unet-train, unet-infer, gan-train) on a fresh net of the spec's size. */
export async function profileProductBench(bench: string, steps: number): Promise<StepProfile> {
  if (bench === "gan-train") {
    const g = createBenchGan(0);
    try {
      return await profileSteps(() => g.step(), steps);
    } finally {
      g.dispose();
    }
  }
  const u = createBenchUnet(0);
  try {
    return await profileSteps(bench === "unet-infer" ? () => u.inferStep() : () => u.trainStep(), steps);
  } finally {
    u.dispose();
  }
}

// `npm run bench -- --profile`: where one step goes, per kernel kind. Every kernel registered for the active backend
// is wrapped for the profiled steps (gradient kernels included; a kernel called from inside another counts towards the
// outer one), and the backend's data store is watched for new buffers (an array stored again is a pooled one). What no kernel does (tape bookkeeping, the
// optimizers' in-place updates through the addon, garbage collection) is the step's remainder.
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
  ops: OpProfile[];
}

interface DataStore {
  set(dataId: object, value: { values?: unknown }): void;
}

/** Wraps every kernel of the active backend and its buffer store; `restore` puts both back. */
function instrument(byOp: Map<string, OpProfile>): { restore: () => void; record: () => void } {
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
        const t0 = performance.now();
        try {
          return inner(args);
        } finally {
          const row = byOp.get(config.kernelName) ?? { op: config.kernelName, calls: 0, ms: 0, allocs: 0, bytes: 0 };
          row.calls += 1;
          row.ms += performance.now() - t0;
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
  const probe = instrument(byOp);
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
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    for (let i = 0; i < steps; i++) step();
  } finally {
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
    }))
    .sort((a, b) => b.ms - a.ms);
  const sum = (f: (o: OpProfile) => number) => ops.reduce((s, o) => s + f(o), 0);
  return {
    steps,
    step_ms: r2(wall / steps),
    cpu_ms: r2((cpu.user + cpu.system) / 1000 / steps),
    kernel_ms: r2(sum((o) => o.ms)),
    gc_ms: r2(gcMs / steps),
    allocs: r2(sum((o) => o.allocs)),
    bytes: sum((o) => o.bytes),
    ops,
  };
}

/** The profile as aligned text lines (for stderr): totals, then one line per kernel kind. */
export function formatProfile(title: string, p: StepProfile, top = 25): string[] {
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  const pct = (ms: number) => `${((100 * ms) / p.step_ms).toFixed(1)}%`;
  const lines = [
    `${title}: ${p.step_ms} ms/step, ${p.cpu_ms} ms CPU (profiled, ${p.steps} steps): kernels ${p.kernel_ms} ms, outside kernels ` +
      `${(p.step_ms - p.kernel_ms).toFixed(1)} ms (of which gc ${p.gc_ms} ms); ${p.allocs} allocations, ${mb(p.bytes)} MiB per step`,
    `${"op".padEnd(30)} ${"calls".padStart(6)} ${"ms".padStart(8)} ${"share".padStart(6)} ${"allocs".padStart(6)} ${"MiB".padStart(7)}`,
  ];
  for (const o of p.ops.slice(0, top)) {
    lines.push(
      `${o.op.padEnd(30)} ${String(o.calls).padStart(6)} ${o.ms.toFixed(2).padStart(8)} ${pct(o.ms).padStart(6)} ${String(o.allocs).padStart(6)} ${mb(o.bytes).padStart(7)}`,
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

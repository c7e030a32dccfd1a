// Backend resolver: tfjs-node-gpu -> tfjs-node -> cpu with the project's native kernel addon -> wasm (SIMD, with
// the project's kernels) -> plain cpu.
// cpu+native comes before wasm since 2026-11-26: with native elementwise ops, transposes, fused norm and in-place
// optimizer updates, one thread trained the demo U-Net (32x32 patches, batch 8) in 55 ms per iteration against 141 ms
// on wasm, and the demo PGAN step in 187 ms against 298 ms (.tmp measurement, load ~1.5). Before those kernels the
// JS cpu backend's elementwise ops made it 2x slower than wasm. SYNTHMRI_NATIVE_FIRST=0 restores wasm first.
// TF_BACKEND overrides. TF_BACKEND=webgpu (tfjs-backend-webgpu on Dawn, backend/webgpu.ts) is in the auto chain after
// tfjs-node(-gpu) only when a discrete GPU adapter exists (backend/webgpu-auto.ts: never lavapipe, never integrated;
// Dawn is not even loaded without an NVIDIA/AMD device node, so CI machines are untouched). Optional native packages are located with createRequire().resolve
// before any import, so their absence costs a failed path lookup and logs nothing.
import { createRequire } from "node:module";
import type { Logger } from "@synthmri/core";
import { FailedPrecondition, InvalidInput, publishComputeBackend } from "@synthmri/core";
import { registerProjectKernels } from "../kernels/index.js";
import { tf } from "./tf.js";
import { startWebGpu } from "./webgpu.js";
import { shouldProbeWebGpu } from "./webgpu-auto.js";

export type BackendPreference = "auto" | "tensorflow-gpu" | "tensorflow" | "wasm" | "cpu" | "webgpu";

export interface BackendInfo {
  /** tfjs backend name: "tensorflow" (tfjs-node / tfjs-node-gpu), "wasm", "cpu" or "webgpu". */
  name: string;
  /** Which package supplied it: "tfjs-node-gpu", "tfjs-node", "tfjs-backend-wasm", "tfjs-backend-cpu", "tfjs-backend-webgpu". */
  provider: string;
  /** True when compiled native code runs the maths (libtensorflow, or the project's native kernels). */
  native: boolean;
  /** True when the project's native kernel addon (packages/ml/native) is registered. */
  nativeKernels: boolean;
  threads: number;
  simd?: boolean;
  /** webgpu: the adapter Dawn picked (vendor / architecture / description). */
  adapter?: string;
}

const NATIVE_CPU_BEFORE_WASM = process.env.SYNTHMRI_NATIVE_FIRST !== "0";
const PREFERENCES: BackendPreference[] = ["auto", "tensorflow-gpu", "tensorflow", "wasm", "cpu", "webgpu"];
const require = createRequire(import.meta.url);
let chosen: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;

function resolvable(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

async function tryNode(
  pkg: "@tensorflow/tfjs-node-gpu" | "@tensorflow/tfjs-node",
  log?: Logger,
): Promise<BackendInfo | null> {
  if (!resolvable(pkg)) return null;
  try {
    await import(pkg);
    if (!(await tf.setBackend("tensorflow"))) return null;
    await tf.ready();
    return {
      name: "tensorflow",
      provider: pkg.slice("@tensorflow/".length),
      native: true,
      nativeKernels: false,
      threads: 0,
    };
  } catch (e) {
    log?.warn("tfjs native package present but failed to load", { package: pkg, error: (e as Error).message });
    return null;
  }
}

type NativeModule = {
  registerNativeKernels?: (o?: { threads?: number }) => boolean;
  defaultNativeThreads?: () => number;
  nativeKernelInfo?: () => { threads?: number };
};

/**
 * The project's native kernels for the cpu backend (packages/ml/src/native, another area): optional,
 * failures tolerated. Returns the thread count when they are active, else null.
 */
async function tryNativeKernels(threads: number | undefined, log?: Logger): Promise<number | null> {
  try {
    const modPath = "../native/index.js";
    const mod = (await import(modPath)) as NativeModule;
    if (typeof mod.registerNativeKernels !== "function") return null;
    // Unnamed: every core, or this process's share of the host (SYNTHMRI_NATIVE_THREADS, set for training children).
    const count = threads ?? mod.defaultNativeThreads?.();
    if (mod.registerNativeKernels(count ? { threads: count } : {}) !== true) return null;
    return mod.nativeKernelInfo?.().threads ?? 1;
  } catch (e) {
    if (e instanceof RangeError) throw new InvalidInput(e.message); // a bad SYNTHMRI_NATIVE_THREADS: say so
    const code = (e as { code?: string }).code;
    if (code !== "ERR_MODULE_NOT_FOUND")
      log?.warn("native kernels failed to load; using wasm/cpu kernels", { error: (e as Error).message });
    return null;
  }
}

async function useJs(
  name: "wasm" | "cpu",
  opts: { requireNative?: boolean; threads?: number },
  log?: Logger,
): Promise<BackendInfo | null> {
  registerProjectKernels();
  // Native kernels replace cpu-backend kernels only; on wasm they would never run.
  const nativeThreads = name === "cpu" ? await tryNativeKernels(opts.threads, log) : null;
  if (opts.requireNative && nativeThreads === null) return null;
  try {
    if (!(await tf.setBackend(name))) return null;
    await tf.ready();
  } catch (e) {
    log?.warn("tfjs backend failed to initialise", { backend: name, error: (e as Error).message });
    return null;
  }
  const nativeKernels = nativeThreads !== null;
  const simd = name === "wasm" ? Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) : undefined;
  return {
    name,
    provider: `tfjs-backend-${name}`,
    native: nativeKernels,
    nativeKernels,
    threads: nativeThreads ?? 1,
    simd,
  };
}

/** Why the webgpu backend could not start, kept for the error message of an explicit TF_BACKEND=webgpu. */
let webgpuFailure: string | null = null;

async function useWebGpu(log?: Logger, discreteOnly = false): Promise<BackendInfo | null> {
  registerProjectKernels();
  const r = await startWebGpu(log, { discreteOnly });
  if (!r.ok) {
    webgpuFailure = r.reason;
    return null;
  }
  return {
    name: "webgpu",
    provider: "tfjs-backend-webgpu",
    native: true,
    nativeKernels: false,
    threads: 0,
    adapter: r.adapter,
  };
}

function parsePreference(p: string | undefined, source: string): BackendPreference {
  const v = (p ?? "auto").trim() || "auto";
  if (!PREFERENCES.includes(v as BackendPreference)) {
    throw new InvalidInput(`${source}=${v} is not a backend; use one of ${PREFERENCES.join(", ")}`);
  }
  return v as BackendPreference;
}

/**
 * Picks and initialises the compute backend once per process (later calls return the first result).
 * `TF_BACKEND` in the environment overrides `preferred`. An explicitly requested backend that cannot
 * start is an error; "auto" falls through the chain.
 */
export function initBackend(
  opts: { preferred?: BackendPreference; logger?: Logger; threads?: number } = {},
): Promise<BackendInfo> {
  if (chosen) return Promise.resolve(chosen);
  if (!pending) {
    pending = resolve(opts).then(
      (info) => {
        chosen = info;
        publishComputeBackend(info);
        opts.logger?.info("compute backend", { ...info });
        return info;
      },
      (e) => {
        pending = null;
        throw e;
      },
    );
  }
  return pending;
}

async function resolve(opts: {
  preferred?: BackendPreference;
  logger?: Logger;
  threads?: number;
}): Promise<BackendInfo> {
  const env = process.env.TF_BACKEND;
  const pref = env ? parsePreference(env, "TF_BACKEND") : parsePreference(opts.preferred, "preferred backend");
  const log = opts.logger;
  const attempts: Record<Exclude<BackendPreference, "auto">, () => Promise<BackendInfo | null>> = {
    "tensorflow-gpu": () => tryNode("@tensorflow/tfjs-node-gpu", log),
    tensorflow: () => tryNode("@tensorflow/tfjs-node", log),
    wasm: () => useJs("wasm", {}, log),
    cpu: () => useJs("cpu", { threads: opts.threads }, log),
    webgpu: () => useWebGpu(log),
  };
  if (pref !== "auto") {
    const info = await attempts[pref]();
    if (!info && pref === "webgpu") {
      throw new FailedPrecondition(
        `compute backend webgpu is not available: ${webgpuFailure ?? "it failed to start"}; unset TF_BACKEND or choose auto, wasm or cpu`,
      );
    }
    if (!info) {
      throw new FailedPrecondition(
        `compute backend ${pref} is not available (package missing or failed to start); unset TF_BACKEND or choose auto, wasm or cpu`,
      );
    }
    return info;
  }
  const chain = [
    attempts["tensorflow-gpu"],
    attempts.tensorflow,
    ...(shouldProbeWebGpu() ? [() => useWebGpu(log, true)] : []),
    ...(NATIVE_CPU_BEFORE_WASM ? [() => useJs("cpu", { requireNative: true, threads: opts.threads }, log)] : []),
    attempts.wasm,
    attempts.cpu,
  ];
  for (const attempt of chain) {
    const info = await attempt();
    if (info) return info;
  }
  throw new FailedPrecondition("no tfjs backend could be initialised (not even cpu)");
}

/** The backend chosen by initBackend, or null before it ran (for service status). */
export function backendInfo(): BackendInfo | null {
  return chosen;
}

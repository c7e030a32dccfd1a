// The WebGPU backend in Node: tfjs-backend-webgpu on Dawn (npm `webgpu`, a prebuilt dawn.node that needs only
// libstdc++ and loads the Vulkan loader libvulkan.so.1 at run time). A GPU route that installs from the npm registry
// alone: no CUDA toolkit, no libtensorflow download, only a Vulkan driver (NVIDIA's ships one with the driver).
// Opt-in (TF_BACKEND=webgpu): each failure says which of the three pieces is missing.
//
// Limitation: tfjs-backend-webgpu reads GPU data synchronously through an OffscreenCanvas, which Node lacks, so
// dataSync()/arraySync() of a GPU-resident tensor fail on this backend; code that runs here must read with
// `await t.data()`. The error thrown then says so.
import type { Logger } from "@synthmri/core";
import { registerWebGpuKernels } from "../kernels/webgpu/index.js";
import { settleKernelCompiles } from "../kernels/webgpu/raw.js";
import { enterKernel, installGpuCounters, leaveKernel, noteDispatchKind } from "./gpu-counters.js";
import { isDiscreteGpuAdapter } from "./webgpu-auto.js";
import { tf } from "./tf.js";

/** What startWebGpu found: the adapter in words, or why the backend cannot start. */
export type WebGpuStart = { ok: true; adapter: string } | { ok: false; reason: string; refused?: boolean };

// Minimal structural types of the WebGPU objects used here (the `webgpu` package's own types are optional).
interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string; device?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
  limits: Record<string, number>;
  features: { has(name: string): boolean };
  requestDevice(d?: unknown): Promise<GpuDeviceLike>;
}
interface GpuDeviceLike {
  lost?: Promise<{ reason?: string; message?: string }>;
}
interface GpuLike {
  requestAdapter(o?: unknown): Promise<GpuAdapterLike | null>;
}

/**
 * Null when the Vulkan loader (libvulkan.so.1) can be loaded, else why not. Dawn dlopen()s it lazily and, without it,
 * only reports "no adapter"; asking the dynamic linker first (process.dlopen of a non-addon library fails with
 * "did not self-register" after a successful load) turns that into an actionable message.
 */
export function vulkanLoaderMissing(): string | null {
  if (process.platform !== "linux") return null;
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, "libvulkan.so.1");
    return null;
  } catch (e) {
    const msg = (e as Error).message;
    if (/self-register|did not self|no such symbol/i.test(msg)) return null;
    return `the Vulkan loader libvulkan.so.1 cannot be loaded (${msg.split("\n")[0]}): install it (Debian/Ubuntu: apt-get install libvulkan1) or add the folder holding it to LD_LIBRARY_PATH`;
  }
}

function icdHint(): string {
  const set = ["VK_ICD_FILENAMES", "VK_DRIVER_FILES"]
    .filter((k) => process.env[k])
    .map((k) => `${k}=${process.env[k]}`);
  return set.length
    ? `the driver manifest named by ${set.join(", ")} offers no usable device`
    : "no Vulkan driver (ICD) is registered: on an NVIDIA machine point VK_ICD_FILENAMES (and VK_DRIVER_FILES) at nvidia_icd.json (/usr/share/vulkan/icd.d/ or /usr/local/nvidia/share/vulkan/icd.d/; the NVIDIA container runtime mounts it with NVIDIA_DRIVER_CAPABILITIES including graphics)";
}

/** Dawn toggles, e.g. SYNTHMRI_DAWN_FLAGS="backend=vulkan" (comma separated; see dawn.node's create()). */
function dawnFlags(): string[] {
  return (process.env.SYNTHMRI_DAWN_FLAGS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function describe(a: GpuAdapterLike): string {
  const i = a.info ?? {};
  return [i.vendor, i.architecture, i.description || i.device].filter(Boolean).join(" / ") || "unknown adapter";
}

let started: Promise<WebGpuStart> | null = null;

/**
 * Loads Dawn, requests a high-performance adapter and device, registers tfjs' `webgpu` backend on that device (with
 * the project's webgpu kernels) and makes it current. Once per process; later calls return the first outcome.
 * `discreteOnly` (the auto chain): an adapter that is not a discrete GPU (lavapipe, integrated) is refused before any
 * device is made, and that refusal is not remembered, so an explicit request can still start it.
 */
export function startWebGpu(log?: Logger, opts: { discreteOnly?: boolean } = {}): Promise<WebGpuStart> {
  if (!started) {
    const attempt = start(log, opts.discreteOnly ?? false);
    started = attempt;
    void attempt.then((r) => {
      if (!r.ok && r.refused && started === attempt) started = null;
    });
  }
  return started;
}

function notInstalled(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
}

const missingPackage = (pkg: string) =>
  `npm package ${pkg} is not installed (an optionalDependency of @synthmri/ml: npm ci without --omit=optional installs it)`;

async function start(log: Logger | undefined, discreteOnly: boolean): Promise<WebGpuStart> {
  const noLoader = vulkanLoaderMissing();
  if (noLoader) return { ok: false, reason: noLoader };
  // Literal specifiers so that esbuild (bench/gpu-pack.sh) bundles both packages; absent ones fail here, not at load.
  let gpu: GpuLike;
  try {
    const dawn = (await import("webgpu")) as unknown as {
      create(flags: string[]): GpuLike;
      globals: Record<string, unknown>;
    };
    // WebGPU's constants and classes (GPUBufferUsage, ...) as the backend expects them on globalThis.
    const g = globalThis as Record<string, unknown>;
    for (const [k, v] of Object.entries(dawn.globals)) if (!(k in g)) g[k] = v;
    if (!installGpuCounters(dawn.globals)) log?.warn("webgpu counters incomplete: a WebGPU class lacks a method");
    gpu = dawn.create(dawnFlags());
  } catch (e) {
    if (notInstalled(e) && /'webgpu'|"webgpu"|webgpu\/index/.test((e as Error).message))
      return { ok: false, reason: missingPackage("webgpu") };
    return { ok: false, reason: `dawn.node (npm webgpu) failed to load: ${(e as Error).message.split("\n")[0]}` };
  }
  // tfjs-backend-webgpu looks for navigator.gpu (Node 20 has no navigator; libraries sniff its userAgent).
  const g = globalThis as { navigator?: { gpu?: unknown; userAgent?: string } };
  if (!g.navigator) g.navigator = { userAgent: `Node.js/${process.version.slice(1)}` };
  g.navigator.gpu = gpu;

  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) return { ok: false, reason: `Dawn found no WebGPU adapter: ${icdHint()}` };
  const adapterName = describe(adapter);
  if (
    discreteOnly &&
    !isDiscreteGpuAdapter(adapter.info ?? {}, adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter)
  )
    return { ok: false, reason: `${adapterName} is not a discrete GPU`, refused: true };
  // The limits tfjs' own factory asks for: large storage buffers (im2col, big activations) need the adapter's maxima.
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has("timestamp-query") ? ["timestamp-query"] : [],
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      // Grouped optimizer updates bind 3-4 buffers per parameter (kernels/webgpu/optimizer.ts).
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  });
  void device.lost?.then((i) => log?.error("webgpu device lost", { reason: i.reason, message: i.message }));

  let mod: {
    WebGPUBackend: new (
      device: unknown,
      info?: unknown,
    ) => { readSync(dataId: object): unknown; read(dataId: object): Promise<unknown> };
  };
  try {
    mod = (await import("@tensorflow/tfjs-backend-webgpu")) as unknown as typeof mod;
  } catch (e) {
    if (notInstalled(e)) return { ok: false, reason: missingPackage("@tensorflow/tfjs-backend-webgpu") };
    throw e;
  }
  patchReadSync(mod.WebGPUBackend.prototype);
  patchReadChecksCompiles(mod.WebGPUBackend.prototype);
  patchKindCounting(mod.WebGPUBackend.prototype);
  if (process.env.SYNTHMRI_WEBGPU_POOLED_UPLOAD !== "0") patchUploadToGpu(mod.WebGPUBackend.prototype);
  // The package registers its own factory at import only when navigator.gpu already existed; ours uses the device
  // above (one adapter request, our limits). Priority 0: never picked unless asked for by name.
  if (tf.findBackendFactory("webgpu")) tf.removeBackend("webgpu");
  tf.registerBackend("webgpu", () => new mod.WebGPUBackend(device, adapter.info) as unknown as tf.KernelBackend, 0);
  registerWebGpuKernels();
  try {
    if (!(await tf.setBackend("webgpu")))
      return { ok: false, reason: `tfjs webgpu backend did not initialise on ${adapterName}` };
    await tf.ready();
  } catch (e) {
    return { ok: false, reason: `tfjs webgpu backend failed on ${adapterName}: ${(e as Error).message}` };
  }
  return { ok: true, adapter: adapterName };
}

const PATCHED = Symbol.for("synthmri.webgpu.readSync");

/** Replaces the OffscreenCanvas error of a synchronous GPU read with one that says what to do. */
function patchReadSync(proto: { readSync(dataId: object): unknown } & { [PATCHED]?: boolean }): void {
  if (proto[PATCHED]) return;
  proto[PATCHED] = true;
  const original = proto.readSync;
  proto.readSync = function readSync(this: unknown, dataId: object) {
    try {
      return original.call(this, dataId);
    } catch (e) {
      if (e instanceof ReferenceError && /OffscreenCanvas/.test(e.message)) {
        throw new Error(
          "dataSync()/arraySync() cannot read a GPU tensor on the webgpu backend in Node (no OffscreenCanvas): read it with await tensor.data(), or use another backend (TF_BACKEND)",
        );
      }
      throw e;
    }
  };
}

const READ_PATCHED = Symbol.for("synthmri.webgpu.readChecksCompiles");

/**
 * Every asynchronous read first waits for the compile checks of the project's WGSL kernels (kernels/webgpu/raw.ts) and
 * throws a failed one, naming the kernel: a shader that does not compile must not hand back the zeros or stale data of
 * a pipeline that never ran.
 */
function patchReadChecksCompiles(
  proto: { read(dataId: object): Promise<unknown> } & { [READ_PATCHED]?: boolean },
): void {
  if (proto[READ_PATCHED]) return;
  proto[READ_PATCHED] = true;
  const original = proto.read;
  proto.read = async function read(this: unknown, dataId: object) {
    await settleKernelCompiles();
    return original.call(this, dataId);
  };
}

const UPLOAD_PATCHED = Symbol.for("synthmri.webgpu.uploadToGPU");

interface UploadBackend {
  tensorMap: {
    get(dataId: object): { resource: unknown; values: ArrayLike<number> | null; dtype: string; shape: number[] };
  };
  bufferManager: { acquireBuffer(size: number, usage: number): object };
  device: { queue: { writeBuffer(buffer: object, offset: number, data: ArrayBufferView): void } };
}

/**
 * Uploads host data with queue.writeBuffer into a pooled buffer instead of stock tfjs' fresh MAP_WRITE staging buffer
 * per upload (issue 15: buffers created per step after warm-up; every scalar and per-step constant paid one). Safe
 * because a buffer only returns to tfjs' pool once no unsubmitted command uses it, and writeBuffer is ordered before
 * the submission that reads it. SYNTHMRI_WEBGPU_POOLED_UPLOAD=0 restores the stock path (for comparisons).
 */
function patchUploadToGpu(proto: { uploadToGPU(dataId: object): void } & { [UPLOAD_PATCHED]?: boolean }): void {
  if (proto[UPLOAD_PATCHED]) return;
  proto[UPLOAD_PATCHED] = true;
  const original = proto.uploadToGPU;
  const usage = (globalThis as unknown as { GPUBufferUsage: Record<string, number> }).GPUBufferUsage;
  proto.uploadToGPU = function uploadToGPU(this: UploadBackend, dataId: object) {
    const td = this.tensorMap.get(dataId);
    const n = td.shape.reduce((a, b) => a * b, 1);
    if (td.resource != null || !td.values || n === 0 || !["float32", "int32", "bool"].includes(td.dtype))
      return original.call(this, dataId);
    const data =
      td.dtype === "float32"
        ? td.values instanceof Float32Array
          ? td.values
          : Float32Array.from(td.values)
        : td.values instanceof Int32Array
          ? td.values
          : Int32Array.from(td.values);
    const buffer = this.bufferManager.acquireBuffer(n * 4, usage.STORAGE | usage.COPY_SRC | usage.COPY_DST);
    this.device.queue.writeBuffer(buffer, 0, data.length === n ? data : data.subarray(0, n));
    td.values = null;
    td.resource = buffer;
  };
}

const KINDS_PATCHED = Symbol.for("synthmri.webgpu.kinds");

/**
 * Attributes each dispatch to the engine kernel being run and the WGSL program class (gpu-counters' dispatchKinds;
 * counted only while countDispatchKinds(true)).
 */
function patchKindCounting(
  proto: { runWebGPUProgram(program: object, ...rest: unknown[]): unknown } & { [KINDS_PATCHED]?: boolean },
): void {
  if (proto[KINDS_PATCHED]) return;
  proto[KINDS_PATCHED] = true;
  const run = proto.runWebGPUProgram;
  proto.runWebGPUProgram = function runWebGPUProgram(this: unknown, program: object, ...rest: unknown[]) {
    noteDispatchKind(program.constructor?.name ?? "program");
    return run.call(this, program, ...rest);
  };
  const engine = tf.engine() as unknown as {
    runKernelFunc(p: { kernelName?: string }): unknown;
    state: { activeScope?: { name?: string } | null };
    [KINDS_PATCHED]?: boolean;
  };
  if (engine[KINDS_PATCHED]) return;
  engine[KINDS_PATCHED] = true;
  const runKernelFunc = engine.runKernelFunc;
  engine.runKernelFunc = function counted(this: typeof engine, p: { kernelName?: string }) {
    enterKernel(p.kernelName ?? this.state.activeScope?.name ?? "customOp");
    try {
      return runKernelFunc.call(this, p);
    } finally {
      leaveKernel();
    }
  };
}

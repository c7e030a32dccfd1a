// Project WGSL kernels dispatched on tfjs-backend-webgpu's own command stream, outside its program model (issue 15).
// tfjs' programs have exactly one writable output and bind their inputs read-only; the fused kernels here write
// several buffers at once (an optimizer update writes the parameter and its moments in place; a fused backward writes
// dx and the per-channel sums), which the program model cannot express. Each dispatch goes into the backend's open
// compute pass, exactly as the backend's recordAndSubmit does, so the order with tfjs' own dispatches is kept and its
// submit batching, buffer pooling and deferred frees all apply.
//
// The backend internals used here (tensorMap, bufferManager, commandEncoder, computePassEncoder,
// commandQueueOwnedIds, dispatchCountInPass, uniformPendingDisposal) are those of tfjs-backend-webgpu 4.22; the
// webgpu tests pin the behaviour (every kernel against the cpu backend).
import { noteDispatchKind } from "../../backend/gpu-counters.js";
import { tf } from "../../backend/tf.js";

type GpuBuffer = { size: number };
interface TensorData {
  resource: unknown;
  values: unknown;
  refCount: number;
  dtype: string;
  shape: number[];
}
interface Pass {
  setPipeline(p: unknown): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
}
interface Device {
  createShaderModule(d: { code: string }): unknown;
  createComputePipeline(d: unknown): { getBindGroupLayout(i: number): unknown };
  createBindGroup(d: unknown): unknown;
  queue: { writeBuffer(b: GpuBuffer, offset: number, data: ArrayBuffer, dataOffset?: number, size?: number): void };
}
/** The tfjs-backend-webgpu internals a raw dispatch needs. */
export interface RawWebGpuBackend {
  device: Device;
  tensorMap: { get(dataId: object): TensorData; has(dataId: object): boolean };
  bufferManager: { acquireBuffer(size: number, usage: number): GpuBuffer };
  uniformPendingDisposal: GpuBuffer[];
  commandEncoder: { beginComputePass(d: object): Pass } | null;
  computePassEncoder: Pass | null;
  commandQueueOwnedIds: WeakSet<object>;
  dispatchCountInPass: number;
  activeTimers?: unknown;
  uploadToGPU(dataId: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  makeTensorInfo(shape: number[], dtype: string): tf.TensorInfo;
}

let fusion = (typeof process === "undefined" ? undefined : process.env.SYNTHMRI_WEBGPU_FUSED) !== "0";

/**
 * Turns the project's fused webgpu kernels on or off (on unless SYNTHMRI_WEBGPU_FUSED=0): off, the webgpu backend runs
 * stock tfjs-backend-webgpu's op graphs, which the bench counts as `dispatches_stock` in the same run. Returns the
 * previous setting.
 */
export function setWebGpuFusion(on: boolean): boolean {
  const was = fusion;
  fusion = on;
  return was;
}

/** The current backend as a raw webgpu backend, or null when webgpu is not current or fusion is off. */
export function rawWebGpuBackend(): RawWebGpuBackend | null {
  if (!fusion || tf.getBackend() !== "webgpu") return null;
  const b = tf.backend() as unknown as Partial<RawWebGpuBackend>;
  if (typeof b.ensureCommandEncoderReady !== "function" || typeof b.uploadToGPU !== "function" || !b.tensorMap)
    return null;
  return b as RawWebGpuBackend;
}

export const WORKGROUP = 64;

/** A flat grid over `invocations` in workgroups of `size`, folded into x/y under the 65535 per-dimension limit. */
export function grid(invocations: number, size = WORKGROUP): [number, number, number] {
  const groups = Math.max(1, Math.ceil(invocations / size));
  if (groups <= 65535) return [groups, 1, 1];
  const x = Math.ceil(Math.sqrt(groups));
  return [x, Math.ceil(groups / x), 1];
}

/** WGSL for the flat index of a `grid()` dispatch (`gid` global_invocation_id, `nwg` num_workgroups). */
export const FLAT_INDEX = (size = WORKGROUP) => `gid.x + gid.y * nwg.x * ${size}u`;

type Pipeline = { getBindGroupLayout(i: number): unknown };
interface CompilationMessage {
  type: string;
  message: string;
  lineNum?: number;
  linePos?: number;
}
interface CheckedDevice extends Device {
  pushErrorScope?(filter: string): void;
  popErrorScope?(): Promise<{ message: string } | null>;
}

/** A project kernel that failed to compile or to make its pipeline: the kernel's name and the compiler's words. */
export class WebGpuKernelCompileError extends Error {
  constructor(
    readonly kernel: string,
    detail: string,
  ) {
    super(`synthmri webgpu: project kernel "${kernel}" failed to compile: ${detail}`);
    this.name = "WebGpuKernelCompileError";
  }
}

const pipelines = new WeakMap<object, Map<string, Pipeline>>();
/** Codes whose compile check failed (a dispatch of one throws at once). */
const broken = new Map<string, WebGpuKernelCompileError>();
/** Compile checks not yet settled, and failures not yet thrown to a reader (see settleKernelCompiles). */
const pendingChecks = new Set<Promise<void>>();
const unreported: WebGpuKernelCompileError[] = [];

function describeMessages(messages: readonly CompilationMessage[]): string {
  return messages
    .filter((m) => m.type === "error")
    .map((m) => (m.lineNum ? `line ${m.lineNum}:${m.linePos ?? 0}: ${m.message}` : m.message))
    .join("; ");
}

/**
 * Creates the pipeline of `code` inside a validation error scope and checks the shader's compilation messages. Both
 * answers are asynchronous (WebGPU reports compile errors only through them; Dawn otherwise just prints a warning and
 * every later dispatch of the invalid pipeline silently does nothing): a failure is recorded against the kernel, thrown
 * by the next dispatch of that kernel and by the next read of any tensor (settleKernelCompiles, which the webgpu
 * backend's read awaits).
 */
function pipelineFor(device: CheckedDevice, name: string, code: string): Pipeline {
  const known = broken.get(code);
  if (known) throw known;
  let cache = pipelines.get(device);
  if (!cache) {
    cache = new Map();
    pipelines.set(device, cache);
  }
  let p = cache.get(code);
  if (!p) {
    const scoped = typeof device.pushErrorScope === "function" && typeof device.popErrorScope === "function";
    if (scoped) device.pushErrorScope?.("validation");
    const module = device.createShaderModule({ code }) as {
      getCompilationInfo?(): Promise<{ messages: readonly CompilationMessage[] }>;
    };
    p = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
    cache.set(code, p);
    const check = Promise.all([
      module.getCompilationInfo?.() ?? Promise.resolve({ messages: [] }),
      scoped ? device.popErrorScope?.() : Promise.resolve(null),
    ]).then(
      ([info, scopeError]) => {
        const detail = [describeMessages(info.messages), scopeError?.message ?? ""].filter(Boolean).join("; ");
        if (detail) fail(name, code, detail);
      },
      (e: unknown) => fail(name, code, (e as Error).message),
    );
    pendingChecks.add(check);
    void check.finally(() => pendingChecks.delete(check));
  }
  return p;
}

function fail(name: string, code: string, detail: string): void {
  const e = new WebGpuKernelCompileError(name, detail);
  broken.set(code, e);
  unreported.push(e);
}

/**
 * Waits for the compile checks of the project kernels created so far and throws the first failure not yet reported
 * (once). The webgpu backend's read() calls this first, so a value computed through a broken kernel is never returned.
 */
export async function settleKernelCompiles(): Promise<void> {
  while (pendingChecks.size) await Promise.all([...pendingChecks]);
  const e = unreported.shift();
  if (e) {
    unreported.length = 0;
    throw e;
  }
}

/** A buffer of a tensor on the device (uploaded if it was host-side). */
export function gpuBufferOf(backend: RawWebGpuBackend, t: tf.TensorInfo): GpuBuffer {
  backend.uploadToGPU(t.dataId);
  const r = backend.tensorMap.get(t.dataId).resource;
  if (!r || typeof (r as GpuBuffer).size !== "number")
    throw new Error("synthmri webgpu: tensor is not in a GPU buffer");
  return r as GpuBuffer;
}

/**
 * The dtype of the buffer behind `t`: tfjs-backend-webgpu casts int32 to float32 without touching the data (the
 * buffer keeps int32 bits), so a "float32" tensor may hold int32 words. Kernels that read f32 must check.
 */
export function bufferDtype(backend: RawWebGpuBackend, t: tf.TensorInfo): string {
  return backend.tensorMap.get(t.dataId).dtype;
}

/** True when every tensor is float32 with float32 words in its buffer (see bufferDtype). */
export function allFloat32(backend: RawWebGpuBackend, ...ts: tf.TensorInfo[]): boolean {
  return ts.every(
    (t) => t.dtype === "float32" && backend.tensorMap.has(t.dataId) && bufferDtype(backend, t) === "float32",
  );
}

/**
 * True when `t` can be written in place: float32, GPU-resident after upload, and no other tensor shares its data
 * (a reshape or clone would see the write), so an in-place write is the same as an assign.
 */
export function ownedOnGpu(backend: RawWebGpuBackend, t: tf.TensorInfo): boolean {
  if (!allFloat32(backend, t)) return false;
  return backend.tensorMap.get(t.dataId).refCount === 1;
}

/** Uniform values, each a 4-byte scalar in declaration order: u32 (`u`) or f32 (`f`). */
export type Uniforms = ({ u: number } | { f: number })[];

/**
 * Records one dispatch of `code` (`name` for the dispatch counters) (entry point `main`, bindings 0.. in the order of `buffers`, then the uniform struct
 * at the next binding when `uniforms` is non-empty) into the backend's command stream. `written` tensors have their
 * host copies dropped (the GPU buffer is now the truth).
 */
export function rawDispatch(
  backend: RawWebGpuBackend,
  name: string,
  code: string,
  tensors: tf.TensorInfo[],
  uniforms: Uniforms,
  groups: [number, number, number],
  written: tf.TensorInfo[],
): void {
  const device = backend.device;
  const pipeline = pipelineFor(device as CheckedDevice, name, code);
  const entries: { binding: number; resource: unknown }[] = tensors.map((t, i) => ({
    binding: i,
    resource: { buffer: gpuBufferOf(backend, t) },
  }));
  if (uniforms.length) {
    const bytes = Math.max(16, Math.ceil((uniforms.length * 4) / 16) * 16);
    const data = new ArrayBuffer(bytes);
    const view = new DataView(data);
    uniforms.forEach((v, i) => {
      if ("u" in v) view.setUint32(i * 4, v.u, true);
      else view.setFloat32(i * 4, v.f, true);
    });
    const usage = (globalThis as unknown as { GPUBufferUsage: Record<string, number> }).GPUBufferUsage;
    const buffer = backend.bufferManager.acquireBuffer(bytes, usage.COPY_DST | usage.UNIFORM);
    device.queue.writeBuffer(buffer, 0, data, 0, bytes);
    backend.uniformPendingDisposal.push(buffer);
    entries.push({ binding: tensors.length, resource: { buffer, offset: 0, size: bytes } });
  }
  for (const t of tensors) backend.commandQueueOwnedIds.add(t.dataId);
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  backend.ensureCommandEncoderReady();
  if (!backend.computePassEncoder) backend.computePassEncoder = backend.commandEncoder?.beginComputePass({}) ?? null;
  const pass = backend.computePassEncoder as Pass;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
  backend.dispatchCountInPass++;
  noteDispatchKind(name);
  for (const t of written) backend.tensorMap.get(t.dataId).values = null;
  if ((tf.env().get("WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE") as number) <= backend.dispatchCountInPass) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
}

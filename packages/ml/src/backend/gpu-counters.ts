// Counts of what the WebGPU device is asked to do (issue 15): compute dispatches, buffers created, queue submissions
// and bytes mapped back to the host. They are deterministic for a given net and batch (unlike times on a loaded
// machine or on lavapipe), so they measure a GPU path without a GPU: dispatches per training step is the host-side
// cost a recorded/fused path has to cut, buffers created after warm-up must be 0 (pooled), and readback per step
// should be the loss scalars only.
//
// Counting patches the prototypes of Dawn's classes (GPUDevice, GPUComputePassEncoder, GPUQueue, GPUBuffer), so every
// device of the process is counted, including tfjs-backend-webgpu's, without it knowing; the cost is one integer
// increment per call.

export interface GpuCounts {
  /** dispatchWorkgroups + dispatchWorkgroupsIndirect calls. */
  dispatches: number;
  /** device.createBuffer calls. */
  buffersCreated: number;
  /** queue.submit calls. */
  submits: number;
  /** Bytes of MAP_READ buffers mapped for reading (GPU -> host). */
  readbackBytes: number;
  /** queue.writeBuffer bytes (host -> GPU). */
  uploadBytes: number;
}

const counts: GpuCounts = { dispatches: 0, buffersCreated: 0, submits: 0, readbackBytes: 0, uploadBytes: 0 };
const INSTALLED = Symbol.for("synthmri.gpuCounters");

type Proto = Record<string, unknown> & { [INSTALLED]?: boolean };
type Method = (this: unknown, ...args: unknown[]) => unknown;

function wrap(proto: Proto | undefined, name: string, count: (self: unknown, args: unknown[]) => void): boolean {
  const original = proto?.[name];
  if (!proto || typeof original !== "function") return false;
  proto[name] = function counted(this: unknown, ...args: unknown[]) {
    count(this, args);
    return (original as Method).apply(this, args);
  };
  return true;
}

// GPUMapMode.READ is 1 in the WebGPU spec.
const MAP_READ = 1;

function byteLength(data: unknown): number {
  if (ArrayBuffer.isView(data)) return data.byteLength;
  if (data instanceof ArrayBuffer) return data.byteLength;
  return 0;
}

/**
 * Installs the counters on the WebGPU classes found in `globals` (the `webgpu` package's `globals`, or globalThis in a
 * browser). Idempotent. Returns false when a class is missing (counts then stay partial and the caller should say so).
 */
export function installGpuCounters(globals: Record<string, unknown>): boolean {
  const proto = (cls: string) => (globals[cls] as { prototype?: Proto } | undefined)?.prototype;
  const device = proto("GPUDevice");
  if (device?.[INSTALLED]) return true;
  const ok = [
    wrap(proto("GPUComputePassEncoder"), "dispatchWorkgroups", () => {
      counts.dispatches++;
    }),
    wrap(proto("GPUDevice"), "createBuffer", () => {
      counts.buffersCreated++;
    }),
    wrap(proto("GPUQueue"), "submit", () => {
      counts.submits++;
    }),
    wrap(proto("GPUQueue"), "writeBuffer", (_self, args) => {
      const size = args[4] as number | undefined;
      counts.uploadBytes +=
        size !== undefined
          ? size * ((args[2] as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1)
          : byteLength(args[2]);
    }),
    wrap(proto("GPUBuffer"), "mapAsync", (self, args) => {
      if (((args[0] as number) & MAP_READ) === 0) return;
      const size = args[2] as number | undefined;
      const offset = (args[1] as number | undefined) ?? 0;
      counts.readbackBytes += size ?? Number((self as { size?: number }).size ?? 0) - offset;
    }),
  ];
  wrap(proto("GPUComputePassEncoder"), "dispatchWorkgroupsIndirect", () => {
    counts.dispatches++;
  });
  if (device) device[INSTALLED] = true;
  return ok.every(Boolean);
}

/** A copy of the counters since the process started (take two and subtract: see diffGpuCounts). */
export function gpuCounts(): GpuCounts {
  return { ...counts };
}

/** b - a, field by field. */
export function diffGpuCounts(a: GpuCounts, b: GpuCounts): GpuCounts {
  return {
    dispatches: b.dispatches - a.dispatches,
    buffersCreated: b.buffersCreated - a.buffersCreated,
    submits: b.submits - a.submits,
    readbackBytes: b.readbackBytes - a.readbackBytes,
    uploadBytes: b.uploadBytes - a.uploadBytes,
  };
}

// Dispatches per kind (issue 15: where a step's dispatches go). Off by default: attributing costs a string build per
// dispatch. The kind is "<tfjs kernel being run> <WGSL program class>", e.g. "Mul BinaryOpProgram"; a kernel that
// composes others through the backend directly (not the engine) is reported under the outer kernel's name.
const kinds = new Map<string, number>();
const kernelStack: string[] = [];
let kindsOn = false;

/** Starts (or stops) attributing dispatches to kinds; see dispatchKinds. */
export function countDispatchKinds(on: boolean): void {
  kindsOn = on;
}

/** Called by the webgpu backend for each program it dispatches (program class name). */
export function noteDispatchKind(program: string): void {
  if (!kindsOn) return;
  const key = `${kernelStack[kernelStack.length - 1] ?? "(none)"} ${program}`;
  kinds.set(key, (kinds.get(key) ?? 0) + 1);
}

/** Called around each engine kernel run (kernel name push / pop). */
export function enterKernel(name: string): void {
  if (kindsOn) kernelStack.push(name);
}
export function leaveKernel(): void {
  if (kindsOn) kernelStack.pop();
}

/** A copy of the per-kind dispatch counts since countDispatchKinds(true); `reset` clears them. */
export function dispatchKinds(reset = false): Record<string, number> {
  const out = Object.fromEntries([...kinds].sort((a, b) => b[1] - a[1]));
  if (reset) kinds.clear();
  return out;
}

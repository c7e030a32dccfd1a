// The compute backend this process runs on, published once by @synthmri/ml's initBackend so that code which
// must not load tfjs (the gRPC server's GetServiceInfo in @synthmri/rpc) can report it.

export interface ComputeBackend {
  /** tfjs backend name: "tensorflow", "wasm", "cpu" or "webgpu". */
  name: string;
  /** Package that supplied it: "tfjs-node-gpu", "tfjs-node", "tfjs-backend-wasm", "tfjs-backend-cpu", "tfjs-backend-webgpu". */
  provider: string;
  /** Compiled native code runs the maths. */
  native: boolean;
  /** The project's native kernel addon is registered. */
  nativeKernels: boolean;
  threads: number;
  /** webgpu: the adapter Dawn picked. */
  adapter?: string;
}

let current: ComputeBackend | null = null;

export function publishComputeBackend(backend: ComputeBackend): void {
  current = backend;
}

/** The backend initBackend chose in this process, or null when none was started (e.g. ingest). */
export function computeBackend(): ComputeBackend | null {
  return current;
}

/** Whether the backend computes on a GPU, and which: tfjs-node-gpu runs CUDA, webgpu names its adapter. */
export function gpuOf(backend: ComputeBackend | null): { gpu: boolean; adapter: string } {
  if (!backend) return { gpu: false, adapter: "" };
  if (backend.provider === "tfjs-node-gpu") return { gpu: true, adapter: backend.adapter || "CUDA (tfjs-node-gpu)" };
  if (backend.name === "webgpu") return { gpu: true, adapter: backend.adapter || "WebGPU adapter" };
  return { gpu: false, adapter: "" };
}

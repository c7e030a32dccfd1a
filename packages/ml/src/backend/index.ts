import { registerProjectKernels } from "../kernels/index.js";

export { type BackendInfo, type BackendPreference, backendInfo, initBackend } from "./resolve.js";
export {
  countDispatchKinds,
  diffGpuCounts,
  dispatchKinds,
  type GpuCounts,
  gpuCounts,
  installGpuCounters,
} from "./gpu-counters.js";
export { tf } from "./tf.js";
export { type AdapterInfoLike, isDiscreteGpuAdapter, shouldProbeWebGpu } from "./webgpu-auto.js";
export { setWebGpuFusion } from "../kernels/webgpu/raw.js";
export { startWebGpu, vulkanLoaderMissing, type WebGpuStart } from "./webgpu.js";

// Registered on import, not only in initBackend, so code (and tests) that pick a backend directly with
// tf.setBackend still train on wasm (which lacks Conv2DBackpropFilter) and get the fast cpu kernel.
registerProjectKernels();

// Public surface of @synthmri/ml. Each area has its own index so that areas can grow independently.
export * from "./random/index.js";
export * from "./backend/index.js";
export * from "./layers/index.js";
export * from "./transforms/index.js";
export * from "./unet/index.js";
export * from "./gan/index.js";
// Fused ops the benchmark nets (bench/src/nets) build on; the product uses them inside unet/ and native/.
export { biasLeakyRelu, nativeCeDiceLossAvailable } from "./native/index.js";
export { instanceNormLeakyReluFast } from "./unet/norm-act.js";
export { ceDiceLossWebGpuActive } from "./kernels/webgpu/ce-dice-loss.js";
export { meanSoftplus } from "./kernels/webgpu/softplus-mean.js";
export * from "./families/index.js";
export * from "./probe/step-probes.js";

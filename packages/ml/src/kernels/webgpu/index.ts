// The project's kernels for tfjs-backend-webgpu. Registered by the backend resolver after the webgpu package
// loaded (its stock kernels register at import; ours replace them), never at module import: CI has no webgpu.
import { tf } from "../../backend/tf.js";
import { conv2dBackpropFilterWebGpu } from "./conv2d-backprop-filter.js";
import { biasLeakyWebGpuKernels } from "./bias-leaky.js";
import { ceDiceWebGpuKernels } from "./ce-dice-loss.js";
import { convTransposeWebGpuKernels } from "./conv-transpose.js";
import { registerReduceGradients } from "./gradients.js";
import { instanceNormWebGpuKernels } from "./instance-norm.js";
import { poolWebGpuKernels, registerPoolGradients } from "./pool.js";
import { softplusMeanWebGpuKernels } from "./softplus-mean.js";

export { conv2dBackpropFilterWebGpu } from "./conv2d-backprop-filter.js";
export { flatDispatch, im2colProgram, type WebGpuProgram } from "./im2col-program.js";
export { ceDiceLossWebGpu, ceDiceLossWebGpuActive } from "./ce-dice-loss.js";
export { biasLeakyReluWebGpu, biasTanhWebGpu } from "./bias-leaky.js";
export { convTranspose2x2WebGpu } from "./conv-transpose.js";
export { instanceNormLeakyReluWebGpu } from "./instance-norm.js";
export { avgPool2x2WebGpu } from "./pool.js";
export { meanSoftplus } from "./softplus-mean.js";
export { settleKernelCompiles, setWebGpuFusion, WebGpuKernelCompileError } from "./raw.js";

const BACKEND = "webgpu";
/** Kernels this module provides for the webgpu backend (for logs and tests). */
export const webgpuProjectKernels = [tf.Conv2DBackpropFilter];
let stockFilterGrad: tf.KernelConfig | undefined;

/** Fused kernels of the project's own (new kernel names, so nothing stock to replace): registered once. */
const fusedKernels = [
  ...instanceNormWebGpuKernels,
  ...ceDiceWebGpuKernels,
  ...biasLeakyWebGpuKernels,
  ...poolWebGpuKernels,
  ...convTransposeWebGpuKernels,
  ...softplusMeanWebGpuKernels,
];

/** Replaces the stock webgpu kernels named in webgpuProjectKernels and adds the fused ones. Idempotent. */
export function registerWebGpuKernels(): void {
  for (const k of fusedKernels) if (!tf.getKernel(k.kernelName, k.backendName)) tf.registerKernel(k);
  registerReduceGradients();
  registerPoolGradients();
  const current = tf.getKernel(tf.Conv2DBackpropFilter, BACKEND);
  if (current?.kernelFunc === (conv2dBackpropFilterWebGpu as unknown)) return;
  stockFilterGrad = current;
  if (current) tf.unregisterKernel(tf.Conv2DBackpropFilter, BACKEND);
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName: BACKEND,
    // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
    kernelFunc: conv2dBackpropFilterWebGpu as any,
  });
}

/** Puts the stock webgpu kernel back (tests compare the two). */
export function unregisterWebGpuKernels(): void {
  if (tf.getKernel(tf.Conv2DBackpropFilter, BACKEND)?.kernelFunc !== (conv2dBackpropFilterWebGpu as unknown)) return;
  tf.unregisterKernel(tf.Conv2DBackpropFilter, BACKEND);
  if (stockFilterGrad) tf.registerKernel(stockFilterGrad);
}

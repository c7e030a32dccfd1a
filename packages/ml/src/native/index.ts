// Native CPU kernels for the tfjs `cpu` backend (packages/ml/native, built by scripts/build-native.mjs at install).
// registerNativeKernels() swaps the hot kernels in place; absent addon -> false, and the stock kernels stay.
import { getKernel, type KernelConfig, type KernelFunc, registerKernel, unregisterKernel } from "@tensorflow/tfjs-core";
import { loadNativeAddon, nativeAddonLoadError } from "./addon.js";
import { type CpuBackendLike, makeKernels } from "./kernels.js";
import { makeBiasActKernels } from "./bias-act.js";
import { makeConvTransposeKernels } from "./conv-transpose.js";
import { makeLossKernels } from "./loss.js";
import { makeNormKernels } from "./norm.js";
import { makePoolKernels, registerPoolGradients } from "./pool2x2.js";

export {
  BIAS_LEAKY_GRAD_KERNEL,
  BIAS_LEAKY_KERNEL,
  BIAS_LEAKY_POOL_GRAD_KERNEL,
  BIAS_LEAKY_POOL_KERNEL,
  BIAS_TANH_GRAD_KERNEL,
  BIAS_TANH_KERNEL,
  biasLeakyRelu,
  biasLeakyReluPool2x2Native,
  biasLeakyReluReference,
  biasTanhNative,
} from "./bias-act.js";
export {
  CONV_TRANSPOSE_2X2_GRAD_KERNEL,
  CONV_TRANSPOSE_2X2_KERNEL,
  convTranspose2x2Native,
} from "./conv-transpose.js";
export { avgPool2x2Native, POOL2X2_KERNEL, SPREAD2X2_KERNEL } from "./pool2x2.js";
export {
  INSTANCE_NORM_GRAD_KERNEL,
  INSTANCE_NORM_KERNEL,
  instanceNormLeakyRelu,
  instanceNormReference,
} from "./norm.js";
export { CE_DICE_LOSS_KERNEL, ceDiceLossNative, nativeCeDiceLossAvailable } from "./loss.js";
export { defaultNativeThreads, hostCores, NATIVE_THREADS_ENV } from "./threads.js";
export { bufferPoolStats, trimBufferPool } from "./buffer-pool.js";
export { NATIVE_ADDON_PATH, type NativeAddon, loadNativeAddon, nativeAddonLoadError } from "./addon.js";

const BACKEND = "cpu";
const originals = new Map<string, KernelConfig>();
const added: string[] = [];

/**
 * Replaces Conv2D, FusedConv2D, Conv2DBackpropInput (also conv2dTranspose), Conv2DBackpropFilter, BatchMatMul and
 * _FusedMatMul on the cpu backend with the native addon's. Idempotent. Returns false (and changes nothing) when the
 * addon is not available. Inputs the addon does not handle (NCHW, dilation, int dtypes) go to the stock kernel.
 */
export function registerNativeKernels(options: { threads?: number } = {}): boolean {
  const addon = loadNativeAddon();
  if (addon == null) return false;
  if (options.threads != null) setNativeThreads(options.threads);
  if (originals.size > 0) return true;
  for (const [kernelName, native] of Object.entries(makeKernels(addon))) {
    const stock = getKernel(kernelName, BACKEND);
    if (stock == null) continue; // cpu backend not imported: nothing to replace for it
    originals.set(kernelName, stock);
    const kernelFunc: KernelFunc = (args) => {
      const out = native(
        args.inputs as Record<string, never>,
        args.backend as unknown as CpuBackendLike,
        args.attrs ?? {},
      );
      return out ?? stock.kernelFunc(args);
    };
    unregisterKernel(kernelName, BACKEND);
    registerKernel({ ...stock, kernelFunc });
  }
  registerPoolGradients();
  for (const config of [
    ...makeNormKernels(addon),
    ...makeBiasActKernels(addon),
    ...makeLossKernels(addon),
    ...makePoolKernels(addon),
    ...makeConvTransposeKernels(addon),
  ]) {
    if (getKernel(config.kernelName, BACKEND) != null) continue;
    registerKernel(config);
    added.push(config.kernelName);
  }
  return originals.size > 0;
}

/** Puts the stock cpu kernels back (tests compare against them). */
export function unregisterNativeKernels(): void {
  for (const [kernelName, stock] of originals) {
    unregisterKernel(kernelName, BACKEND);
    registerKernel(stock);
  }
  originals.clear();
  for (const kernelName of added.splice(0)) unregisterKernel(kernelName, BACKEND);
}

/** Whether registerNativeKernels() is currently in effect. */
export function nativeKernelsActive(): boolean {
  return originals.size > 0;
}

/** Sets the native worker pool size (1 = run on the calling thread). No-op without the addon. */
export function setNativeThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`native kernel threads must be a positive integer, got ${threads}`);
  }
  loadNativeAddon()?.setThreads(threads);
}

/** What the native layer is doing, for status pages and bench notes. */
export function nativeKernelInfo(): {
  available: boolean;
  active: boolean;
  threads?: number;
  simd?: string;
  reason?: string;
} {
  const addon = loadNativeAddon();
  if (addon == null) return { available: false, active: false, reason: nativeAddonLoadError() };
  return { available: true, active: nativeKernelsActive(), threads: addon.getThreads(), simd: addon.simd() };
}

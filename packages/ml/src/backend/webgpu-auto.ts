// When TF_BACKEND=auto may take the webgpu backend (issue 15): only on a discrete GPU. A software Vulkan driver
// (Mesa lavapipe/llvmpipe, SwiftShader) is correct but far slower than the project's native cpu kernels, and an
// integrated GPU shares the CPU's memory bandwidth, so neither is picked without an explicit TF_BACKEND=webgpu.
import { existsSync } from "node:fs";

/** The fields of GPUAdapterInfo the decision reads (Dawn fills vendor/architecture/device/description). */
export interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|softpipe|microsoft basic render/i;
/** Vendors whose WebGPU adapters are discrete cards (Intel's are mostly integrated: left to TF_BACKEND=webgpu). */
const DISCRETE_VENDORS = /^(nvidia|amd|ati|advanced micro devices)$/i;

/** True when the adapter is a hardware GPU of a vendor that makes discrete cards (never a software rasteriser). */
export function isDiscreteGpuAdapter(info: AdapterInfoLike, isFallbackAdapter = info.isFallbackAdapter): boolean {
  if (isFallbackAdapter) return false;
  const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ");
  if (SOFTWARE.test(text)) return false;
  return DISCRETE_VENDORS.test((info.vendor ?? "").trim());
}

/**
 * Cheap pre-check before loading Dawn in auto mode: a discrete GPU's kernel driver node exists (NVIDIA /dev/nvidiactl,
 * AMD ROCm /dev/kfd). Without one the probe is skipped, so machines without a GPU (CI with lavapipe included) never
 * load dawn.node on the auto path. SYNTHMRI_WEBGPU_AUTO=0 turns the probe off, =1 forces it.
 */
export function shouldProbeWebGpu(
  env: Record<string, string | undefined> = process.env,
  exists: (path: string) => boolean = existsSync,
): boolean {
  if (env.SYNTHMRI_WEBGPU_AUTO === "0") return false;
  if (env.SYNTHMRI_WEBGPU_AUTO === "1") return true;
  return ["/dev/nvidiactl", "/dev/kfd"].some(exists);
}

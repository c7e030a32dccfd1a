// Shared kernel types, in their own module so that kernels.ts and elementwise.ts do not import each other.
import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";

/** The slice of MathBackendCPU these kernels use. */
export interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): TensorInfo;
}

export type NativeKernel = (
  inputs: Record<string, TensorInfo>,
  backend: CpuBackendLike,
  attrs: NamedAttrMap,
) => TensorInfo | null;

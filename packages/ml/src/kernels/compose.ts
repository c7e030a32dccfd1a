// Helpers to build a kernel out of the active backend's own kernels (Transpose, Conv2D, Slice, ...).
// Running kernels directly (not tf ops) keeps the engine's tape and tensor counts untouched; every
// intermediate TensorInfo is freed with backend.disposeData.
import { tf } from "../backend/tf.js";

export type TensorInfo = { dataId: object; shape: number[]; dtype: string };
export type Backend = { disposeData(dataId: object, force?: boolean): unknown };
type Attrs = Record<string, unknown>;

export function runBackendKernel(
  name: string,
  backendName: string,
  backend: Backend,
  inputs: Record<string, TensorInfo>,
  attrs: Attrs = {},
): TensorInfo {
  const k = tf.getKernel(name, backendName);
  if (!k) throw new Error(`kernel ${name} is not registered for backend ${backendName}`);
  // biome-ignore lint/suspicious/noExplicitAny: tfjs' KernelFunc typing is structural and internal.
  return k.kernelFunc({ inputs, backend, attrs } as any) as unknown as TensorInfo;
}

export function free(backend: Backend, ...infos: TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

// Registers the project's kernels on the cpu and wasm backends, once per process (tfjs' registry is a
// process-wide global, so a second copy of this module or a second call must not re-register).
import { tf } from "../backend/tf.js";
import { makeConv2DBackpropFilter } from "./conv2d-backprop-filter.js";
import { makeConv2DBackpropInput } from "./conv2d-backprop-input.js";

const MARK = Symbol.for("synthmri.kernels.registered");

/** Kernels this module provides, per backend: for logs and tests. */
export const projectKernels: Record<string, string[]> = {
  wasm: [tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput],
  cpu: [tf.Conv2DBackpropFilter],
};

const ours = new WeakSet<object>();

/** True when the kernel tfjs will run for (name, backend) is this module's. */
export function isProjectKernel(kernelName: string, backendName: string): boolean {
  const k = tf.getKernel(kernelName, backendName);
  return Boolean(k && ours.has(k.kernelFunc));
}

export function registerProjectKernels(): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[MARK]) return;
  g[MARK] = true;
  for (const [backendName, names] of Object.entries(projectKernels)) {
    for (const name of names) {
      const stock = tf.getKernel(name, backendName);
      if (stock) tf.unregisterKernel(name, backendName);
      const kernelFunc = kernelFor(name, backendName, (stock?.kernelFunc as never) ?? null) as object;
      ours.add(kernelFunc);
      tf.registerKernel({
        kernelName: name,
        backendName,
        // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
        kernelFunc: kernelFunc as any,
        // The stock kernel's setup (wasm: binding its C function) must still run: we fall back to it.
        setupFunc: stock?.setupFunc,
        disposeFunc: stock?.disposeFunc,
      });
    }
  }
}

function kernelFor(name: string, backendName: string, stock: ((args: unknown) => never) | null): unknown {
  switch (name) {
    case tf.Conv2DBackpropFilter:
      return makeConv2DBackpropFilter(backendName);
    case tf.Conv2DBackpropInput:
      return makeConv2DBackpropInput(backendName, stock);
    default:
      throw new Error(`no project kernel named ${name}`);
  }
}

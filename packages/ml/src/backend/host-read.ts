// Synchronous reads (dataSync, arraySync) work only where tensor data lives on the host or the backend can
// block on a device read (cpu, wasm, tfjs-node). On the webgpu backend in Node a synchronous read throws,
// but an awaited `data()` downloads the values and the backend caches them on the host per tensor, so a
// later dataSync() of the same tensor returns the cached copy. Code that must keep a synchronous serialiser
// (ParamStore.toBytes, Optimizer.getState) awaits `hostReadable` first.
import { tf } from "./tf.js";

const SYNC_READ_BACKENDS = new Set(["cpu", "wasm", "tensorflow"]);

/** True when dataSync() works on the active backend without a prior asynchronous read. */
export function syncReadsWork(): boolean {
  return SYNC_READ_BACKENDS.has(tf.getBackend());
}

/**
 * Makes dataSync() of `tensors` work on any backend: downloads them (cached by the backend) unless reads are
 * synchronous anyway, so cpu and wasm runs are untouched.
 */
export async function hostReadable(tensors: Iterable<tf.Tensor>): Promise<void> {
  if (syncReadsWork()) return;
  await Promise.all([...tensors].map((t) => t.data()));
}

/**
 * Every live tfjs variable: for serialisers whose tensors are private (the layers/ optimizers' slots). Reads
 * more than one job needs when several models share the process, which only costs time at checkpoints.
 */
export function allVariables(): tf.Variable[] {
  return Object.values(tf.engine().state.registeredVariables);
}

// Recycles the float32 output buffers of the native kernels on the cpu backend. Every tfjs op returns a fresh typed
// array; a bench-unet training step allocated ~280 MiB in ~440 arrays, and on these hosts the first write to fresh
// pages costs more than the arithmetic of an elementwise op (measured: ~3 ms per MiB first touch vs ~0.3 ms reuse),
// while the garbage collector spent ~0.3-0.45 s per step freeing them. A training step repeats the same shapes, so
// buffers are pooled by exact length: a kernel takes one, the backend gives it back when its tensor is disposed.
//
// Only arrays this pool created are ever recycled, and only while nobody outside the backend can hold them: an array
// read through readSync/read (dataSync, data, arraySync, bufferSync return the live array on cpu) is released from
// the pool for good, and an array is recycled only when no data id of the backend still stores it.
//
// The pool keeps the peak working set of the last burst (20 concurrent SegmentSlices streams left ~35 MiB of free
// arrays in a segmenter, +21 % RSS that never came back). So when no kernel has taken a buffer for
// SYNTHMRI_BUFFER_POOL_IDLE_MS (default 10 s: longer than the gaps of a training loop, shorter than an operator's
// patience) the free arrays are dropped, collected, and glibc's arenas trimmed (releaseIdleMemory).
import type { DataId } from "@tensorflow/tfjs-core";
import { releaseIdleMemory } from "./release-memory.js";

interface BackendEntry {
  values?: unknown;
}
/** The slice of MathBackendCPU the pool hooks into. */
export interface PooledBackend {
  data: {
    get(dataId: DataId): BackendEntry | undefined;
    has(dataId: DataId): boolean;
    set(dataId: DataId, value: BackendEntry): void;
  };
  disposeData(dataId: DataId, force?: boolean): boolean;
  readSync(dataId: DataId): unknown;
}

const DEFAULT_MAX_MIB = 512;
const DEFAULT_IDLE_MS = 10_000;

/** Upper bound on the bytes kept free in the pool (SYNTHMRI_BUFFER_POOL_MB, 0 turns pooling off). */
function maxPooledBytes(): number {
  const raw = process.env.SYNTHMRI_BUFFER_POOL_MB;
  const mib = raw == null || raw === "" ? DEFAULT_MAX_MIB : Number(raw);
  return Number.isFinite(mib) && mib > 0 ? mib * 2 ** 20 : 0;
}

/** Idle time after which the free arrays are released (SYNTHMRI_BUFFER_POOL_IDLE_MS, 0 = never). */
function idleReleaseMs(): number {
  const raw = process.env.SYNTHMRI_BUFFER_POOL_IDLE_MS;
  const ms = raw == null || raw === "" ? DEFAULT_IDLE_MS : Number(raw);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

/** Data ids storing each pool-created array that has not escaped (absent: escaped or not ours). */
const owners = new WeakMap<Float32Array, number>();
const free = new Map<number, Float32Array[]>();
const hooked = new WeakSet<object>();
let pooledBytes = 0;
let limit = maxPooledBytes();
let idleMs = idleReleaseMs();
let lastTakeAt = 0;
let idleTimer: NodeJS.Timeout | undefined;
const stats = { taken: 0, reused: 0, idleReleases: 0, freshBytes: 0 };

function release(values: Float32Array): void {
  if (pooledBytes + values.byteLength > limit) return; // over the cap: left to the garbage collector
  let list = free.get(values.length);
  if (list == null) {
    list = [];
    free.set(values.length, list);
  }
  list.push(values);
  pooledBytes += values.byteLength;
  armIdleRelease();
}

/** One timer while the pool holds free arrays; it re-arms itself until the kernels have been idle for idleMs. */
function armIdleRelease(): void {
  if (idleTimer != null || idleMs <= 0) return;
  idleTimer = setTimeout(onIdleTimer, idleMs);
  idleTimer.unref();
}

function onIdleTimer(): void {
  idleTimer = undefined;
  if (pooledBytes === 0) return;
  const idleFor = performance.now() - lastTakeAt;
  if (idleFor < idleMs) {
    idleTimer = setTimeout(onIdleTimer, idleMs - idleFor);
    idleTimer.unref();
    return;
  }
  free.clear();
  pooledBytes = 0;
  stats.idleReleases++;
  releaseIdleMemory();
}

function hook(backend: PooledBackend): void {
  if (hooked.has(backend)) return;
  hooked.add(backend);
  const { data } = backend;
  const set = data.set.bind(data);
  data.set = (dataId, value) => {
    const v = value?.values;
    if (v instanceof Float32Array) {
      const n = owners.get(v);
      if (n != null) owners.set(v, n + 1);
    }
    set(dataId, value);
  };
  const disposeData = backend.disposeData.bind(backend);
  backend.disposeData = (dataId, force) => {
    const v = data.get(dataId)?.values;
    const done = disposeData(dataId, force);
    if (v instanceof Float32Array && !data.has(dataId)) {
      const n = owners.get(v);
      if (n != null) {
        if (n > 1) owners.set(v, n - 1);
        else {
          owners.set(v, 0);
          release(v);
        }
      }
    }
    return done;
  };
  const readSync = backend.readSync.bind(backend);
  // MathBackendCPU.read() calls this.readSync, so awaited reads pass here too.
  backend.readSync = (dataId) => {
    const v = data.get(dataId)?.values;
    if (v instanceof Float32Array) owners.delete(v);
    return readSync(dataId);
  };
}

/**
 * A float32 array of length n for a kernel's output on `backend`, possibly reused: its contents are undefined, so
 * the kernel must write every element. Hand it to backend.makeTensorInfo as usual.
 */
export function takeFloat32(backend: unknown, n: number): Float32Array {
  stats.taken++;
  lastTakeAt = performance.now();
  if (limit > 0) {
    hook(backend as PooledBackend);
    const reused = free.get(n)?.pop();
    if (reused != null) {
      pooledBytes -= reused.byteLength;
      stats.reused++;
      return reused;
    }
  }
  const fresh = new Float32Array(n);
  stats.freshBytes += fresh.byteLength;
  if (limit > 0) owners.set(fresh, 0);
  return fresh;
}

/** Drops every free buffer (memory back to the garbage collector) and re-reads the size limit from the environment. */
export function trimBufferPool(): void {
  free.clear();
  pooledBytes = 0;
  limit = maxPooledBytes();
  idleMs = idleReleaseMs();
  if (idleTimer != null) clearTimeout(idleTimer);
  idleTimer = undefined;
}

/** Counters for tests and the bench profile; freshBytes: bytes of the arrays the pool could not supply (new pages). */
export function bufferPoolStats(): {
  taken: number;
  reused: number;
  idleReleases: number;
  freshBytes: number;
  pooledBytes: number;
} {
  return { ...stats, pooledBytes };
}

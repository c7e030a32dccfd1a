// Gives the memory of dropped arrays back to the OS once a process goes idle: a full garbage collection (the
// arrays are unreachable but an idle process allocates nothing, so V8 has no reason to collect them) and then
// glibc's malloc_trim through the kernel addon (V8 allocates ArrayBuffer backing stores with malloc, and freed
// chunks below glibc's dynamic mmap threshold, up to 32 MiB, stay in the arenas).
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { loadNativeAddon } from "./addon.js";

let gc: (() => void) | null | undefined;

/**
 * V8's gc() without requiring --expose-gc on every entrypoint: the flag set at run time takes effect for new
 * contexts (the way Jest's --logHeapUsage gets it). null if this V8 refuses.
 */
function fullGc(): (() => void) | null {
  if (gc !== undefined) return gc;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === "function") {
    gc = exposed;
    return gc;
  }
  try {
    setFlagsFromString("--expose-gc");
    const fn = runInNewContext("gc") as unknown;
    gc = typeof fn === "function" ? (fn as () => void) : null;
  } catch {
    gc = null;
  }
  return gc;
}

/** Collects garbage and trims malloc's arenas; returns what it could do (for logs and tests). */
export function releaseIdleMemory(): { collected: boolean; trimmed: boolean } {
  const collect = fullGc();
  collect?.();
  const trimmed = loadNativeAddon()?.mallocTrim?.() ?? false;
  return { collected: collect != null, trimmed };
}

// How many threads the native kernels' pool runs when the caller names none: SYNTHMRI_NATIVE_THREADS (a training
// child of a service gets its share of the host from the parent, platform/child/train-processes.ts), else every core.
import os from "node:os";

export const NATIVE_THREADS_ENV = "SYNTHMRI_NATIVE_THREADS";

/** Cores this process may use (os.availableParallelism where Node has it). */
export function hostCores(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

/** SYNTHMRI_NATIVE_THREADS when set (a positive integer, else a RangeError naming it), otherwise hostCores(). */
export function defaultNativeThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[NATIVE_THREADS_ENV];
  if (raw == null || raw.trim() === "") return hostCores();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(
      `${NATIVE_THREADS_ENV} must be a positive integer (threads of the native kernels), got "${raw}"`,
    );
  return n;
}

// Runs a TypeScript module in a child process so that CPU-bound work (a GAN member, a U-Net run) gets its own
// core: the tfjs wasm backend is single-threaded in Node, so parallel trainings need parallel processes.
// The child is forked with the parent's node flags (the tsx loader, the supervisor's parent-watch) plus tsx
// when the parent lacks it (e.g. under vitest); params go over IPC (ids and settings only, never voxel
// data: the child reads its data from the object store itself), progress messages are relayed, the result
// resolves the promise and the child's error rejects it with its class kept (InvalidInput stays
// InvalidInput). Aborting the signal sends SIGTERM, then SIGKILL after a grace period. The promise settles
// only once the child has exited, so that whoever waits for it (a training slot, a resumed job) never
// overlaps with a child still writing checkpoints.
import { type ChildProcess, fork } from "node:child_process";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { Cancelled } from "@synthmri/core";
import { deserializeError, isChildMessage, type SerializedError } from "./child-protocol.js";

export interface RunChildOptions<G> {
  /** Abort = SIGTERM to the child, SIGKILL after killGraceMs; the promise rejects with Cancelled. */
  signal?: AbortSignal;
  /** Every progress update the child sends, in order. */
  onProgress?: (update: G) => void;
  /** Variables set (or, with undefined, removed) over the parent's environment. */
  env?: Record<string, string | undefined>;
  /** Between SIGTERM and SIGKILL on abort (default 10 s). */
  killGraceMs?: number;
  /** Names the child in errors (default the module's file name). */
  label?: string;
  /** Called once the child is forked (tests, logs). */
  onSpawn?: (pid: number) => void;
}

const STDERR_TAIL_BYTES = 4096;

/** Node flags for the child: the parent's, minus debugger/eval flags, plus the tsx loader for .ts modules. */
export function childExecArgv(modulePath: string, parentArgv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < parentArgv.length; i++) {
    const a = parentArgv[i];
    if (/^--inspect/.test(a) || a === "--inspect-brk") continue;
    if (a === "-e" || a === "--eval" || a === "-p" || a === "--print") {
      i++;
      continue;
    }
    if (/^--(eval|print)=/.test(a)) continue;
    out.push(a);
  }
  const needsTsx = /\.[cm]?ts$/.test(modulePath) && !out.some((a) => a.includes("tsx"));
  return needsTsx ? ["--import", tsxLoader(), ...out] : out;
}

function tsxLoader(): string {
  try {
    // An absolute URL, so the child finds tsx whatever its working directory.
    return import.meta.resolve("tsx");
  } catch {
    return "tsx";
  }
}

export function runChild<R = unknown, G = unknown>(
  modulePath: string | URL,
  params: unknown,
  options: RunChildOptions<G> = {},
): Promise<R> {
  const path = typeof modulePath === "string" ? modulePath : fileURLToPath(modulePath);
  const label = options.label ?? basename(path);
  const signal = options.signal;
  if (signal?.aborted) return Promise.reject(abortError(signal, label));
  return new Promise<R>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = fork(path, [], {
        execArgv: childExecArgv(path),
        env: mergeEnv(options.env),
        stdio: ["ignore", "inherit", "pipe", "ipc"],
      });
    } catch (e) {
      reject(new Error(`${label}: could not start a child process: ${(e as Error).message}`));
      return;
    }
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    // The child's log lines go to the parent's stderr (the service log); the tail explains a crash.
    let tail = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk);
      tail = (tail + chunk.toString("utf8")).slice(-STDERR_TAIL_BYTES);
    });
    let outcome: { ok: true; result: unknown } | { ok: false; error: SerializedError } | undefined;
    let spawnError: Error | undefined;
    child.on("message", (m: unknown) => {
      if (!isChildMessage(m)) return;
      if (m.t === "progress") {
        try {
          options.onProgress?.(m.progress as G);
        } catch {
          // A progress consumer's bug must not kill the training.
        }
      } else if (m.t === "result") outcome = { ok: true, result: m.result };
      else if (m.t === "error") outcome = { ok: false, error: m.error };
    });
    child.on("error", (e) => {
      spawnError = e;
    });

    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      killTimer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }, options.killGraceMs ?? 10_000);
    };
    signal?.addEventListener("abort", onAbort, { once: true });

    child.once("exit", (code, sig) => {
      signal?.removeEventListener("abort", onAbort);
      clearTimeout(killTimer);
      if (outcome?.ok) return resolve(outcome.result as R);
      if (outcome && !outcome.ok) return reject(deserializeError(outcome.error, `child process ${label}`));
      if (signal?.aborted) return reject(abortError(signal, label));
      const why = spawnError
        ? `could not run: ${spawnError.message}`
        : `exited with code ${code ?? "-"}, signal ${sig ?? "-"}`;
      const stderr = tail.trim() ? `; its stderr ends with:\n${tail.trimEnd().split("\n").slice(-15).join("\n")}` : "";
      reject(new Error(`child process ${label} ${why} before sending a result${stderr}`));
    });

    child.send({ t: "run", params }, (e) => {
      // The child died before reading its params: the exit handler reports it.
      if (e) spawnError ??= e;
    });
  });
}

function mergeEnv(extra: Record<string, string | undefined> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function abortError(signal: AbortSignal, label: string): Error {
  const r = signal.reason;
  if (r instanceof Error) return r;
  return new Cancelled(typeof r === "string" ? r : `${label} cancelled`);
}

// The child side of runChild: a module forked by runChild calls serveChild(work) once at import. It waits for
// the parent's params, runs the work with an AbortSignal and a progress callback, sends the result (or the
// error) back and exits. The signal aborts on SIGTERM/SIGINT (the parent cancels) and when the IPC channel
// closes (the parent died): then the child stops too instead of training on as an orphan, and exits by force
// after a grace period if the work does not notice the signal.
import { Cancelled } from "@synthmri/core";
import { type ChildMessage, type ParentMessage, serializeError } from "./child-protocol.js";

export interface ChildContext<G> {
  signal: AbortSignal;
  /** Relayed to the parent's onProgress (JSON: ids, numbers, strings; never voxel data). */
  progress(update: G): void;
}

export interface ServeChildOptions {
  /** After the parent died: how long the work may take to stop before the process exits anyway (default 15 s). */
  orphanGraceMs?: number;
}

export function serveChild<P, R, G = unknown>(
  work: (params: P, ctx: ChildContext<G>) => Promise<R>,
  options: ServeChildOptions = {},
): void {
  const send = process.send?.bind(process);
  if (!send) {
    throw new Error(
      "this module is a training child process: start it with runChild() from @synthmri/platform (it needs an IPC channel)",
    );
  }
  // A preloaded parent-watch (the supervisor's services) unrefs the channel; the child must stay alive to
  // receive its params.
  process.channel?.ref();
  const controller = new AbortController();
  const abort = (why: string) => {
    if (!controller.signal.aborted) controller.abort(new Cancelled(why));
  };
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.on(sig, () => abort(`training child cancelled by the parent process (${sig})`));
  }
  process.on("disconnect", () => {
    abort("the parent process exited; this child stops with it");
    setTimeout(() => process.exit(1), options.orphanGraceMs ?? 15_000);
  });
  const post = (m: ChildMessage): Promise<void> =>
    new Promise((resolve) => {
      if (!process.connected) return resolve();
      try {
        send(m, undefined, {}, () => resolve());
      } catch {
        resolve();
      }
    });

  process.once("message", async (m: ParentMessage) => {
    let code = 0;
    try {
      if (m?.t !== "run") throw new Error(`expected a "run" message from the parent, got ${JSON.stringify(m)}`);
      const result = await work(m.params as P, {
        signal: controller.signal,
        progress: (update) => {
          if (process.connected) void post({ t: "progress", progress: update });
        },
      });
      await post({ t: "result", result });
    } catch (e) {
      code = 1;
      await post({ t: "error", error: serializeError(e) });
    }
    process.exit(code);
  });
}

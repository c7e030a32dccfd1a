import type { Logger } from "@synthmri/platform";
import { noopLogger } from "./logger.js";
import type { RpcServer } from "./server.js";

export interface ShutdownOptions {
  /** Signals that start a graceful shutdown (default SIGTERM and SIGINT). */
  signals?: NodeJS.Signals[];
  /** How long in-flight calls may run before they are cancelled (default 10 s). */
  drainTimeoutMs?: number;
  logger?: Logger;
  /** Runs after the server stopped (close stores, flush logs, ...). */
  onStopped?: () => Promise<void> | void;
  /** Exit the process when done (default true); a second signal exits at once with code 1. */
  exit?: boolean;
}

/**
 * Wires SIGTERM/SIGINT to a graceful shutdown of the server (main.ts calls this once). Anything with the
 * server's shutdown() does (e.g. several listeners draining together). Returns a function that removes the
 * handlers again (tests).
 */
export function shutdownOnSignals(server: Pick<RpcServer, "shutdown">, options: ShutdownOptions = {}): () => void {
  const logger = options.logger ?? noopLogger;
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  const exit = options.exit ?? true;
  let started = false;
  const handler = (signal: NodeJS.Signals) => {
    if (started) {
      logger.warn("second signal during shutdown; exiting now", { signal });
      if (exit) process.exit(1);
      return;
    }
    started = true;
    logger.info("shutting down", { signal });
    void (async () => {
      let code = 0;
      try {
        await server.shutdown(options.drainTimeoutMs ?? 10_000);
        await options.onStopped?.();
      } catch (e) {
        code = 1;
        logger.error("error during shutdown", { error: e instanceof Error ? e.message : String(e) });
      }
      if (exit) process.exit(code);
    })();
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.removeListener(s, handler);
  };
}

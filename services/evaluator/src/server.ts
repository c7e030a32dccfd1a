// The evaluator's gRPC server, built from its dependencies (no globals): tests build it with a fake segmenter
// service on port 0 and the embedded store; main.ts with the real ones.
import { EvaluatorService, JobService } from "@synthmri/contracts";
import { createServer, hostPort, jobHandlers, type RpcServer, type ServerOptions } from "@synthmri/rpc";
import type { EvaluatorDeps } from "./deps.js";
import { evaluatorHandlers } from "./handlers/evaluator.js";
import { resumeHandlers } from "./handlers/job-work.js";

export type { EvaluatorDeps } from "./deps.js";

export function build(deps: EvaluatorDeps) {
  return {
    evaluator: evaluatorHandlers(deps),
    jobs: jobHandlers(deps.jobs),
    /** Pass to deps.jobs.recover() at start-up. */
    resumeHandlers: resumeHandlers(deps),
  };
}

export interface StartedServer {
  server: RpcServer;
  port: number;
  /** "host:port" for clients. */
  address: string;
  close(graceMs?: number): Promise<void>;
}

export async function startServer(
  deps: EvaluatorDeps,
  options: { port?: number; host?: string; server?: Omit<ServerOptions, "logger"> } = {},
): Promise<StartedServer> {
  const impl = build(deps);
  const server = createServer({ ...options.server, logger: deps.logger });
  server.add(EvaluatorService, impl.evaluator).add(JobService, impl.jobs);
  const host = options.host ?? "127.0.0.1";
  const port = await server.listen(host, options.port ?? 0);
  return {
    server,
    port,
    address: hostPort(host, port),
    async close(graceMs = 5000) {
      await server.shutdown(graceMs);
      await deps.jobs.shutdown({ graceMs });
    },
  };
}

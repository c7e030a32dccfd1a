// The segmenter's gRPC server, built from its dependencies (no globals): tests build it on port 0 with the
// embedded store; main.ts with the configured one. Health of SegmenterService is NOT_SERVING until a model
// is loaded (LoadModel, or any segment call that loads one).
import { JobService, SegmenterService } from "@synthmri/contracts";
import type { ResumeHandlers } from "@synthmri/platform";
import { createServer, hostPort, jobHandlers, type RpcServer, type ServerOptions } from "@synthmri/rpc";
import { type SegmenterDeps, type SegmenterInputs, segmenterDeps, TRAIN_JOB_KIND, trainWork } from "./deps.js";
import { segmenterHandlers } from "./handlers/segmenter.js";

export { type SegmenterDeps, type SegmenterInputs, segmenterDeps };

export function build(deps: SegmenterDeps) {
  return {
    segmenter: segmenterHandlers(deps),
    jobs: jobHandlers(deps.jobs),
    /** Pass to deps.jobs.recover() at start-up: training resumes from its object-store checkpoint. */
    resumeHandlers: { [TRAIN_JOB_KIND]: trainWork(deps) } satisfies ResumeHandlers,
  };
}

export interface StartedServer {
  server: RpcServer;
  port: number;
  address: string;
  deps: SegmenterDeps;
  close(graceMs?: number): Promise<void>;
}

export const SEGMENTER_SERVICE_NAME = SegmenterService.typeName;

export async function startServer(
  inputs: SegmenterInputs,
  options: { port?: number; host?: string; recover?: boolean; server?: Omit<ServerOptions, "logger"> } = {},
): Promise<StartedServer> {
  const deps = segmenterDeps(inputs);
  const impl = build(deps);
  const server = createServer({ ...options.server, logger: deps.logger });
  server.add(SegmenterService, impl.segmenter).add(JobService, impl.jobs);
  server.setServing(SEGMENTER_SERVICE_NAME, false);
  const stop = deps.registry.onChange((n) => server.setServing(SEGMENTER_SERVICE_NAME, n > 0));
  const host = options.host ?? "127.0.0.1";
  const port = await server.listen(host, options.port ?? 0);
  if (options.recover ?? true) await deps.jobs.recover(impl.resumeHandlers);
  return {
    server,
    port,
    address: hostPort(host, port),
    deps,
    async close(graceMs = 5000) {
      stop();
      await server.shutdown(graceMs);
      await deps.jobs.shutdown({ graceMs });
      deps.registry.dispose();
    },
  };
}
